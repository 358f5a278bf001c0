#!/usr/bin/env bash
# The issue-2 performance comparisons, each side by side under one wrk:
#   1. singlecore vs a bare net/http server, / , both pinned to CPU 1, wrk on CPU 0;
#   2. prefork-rr vs prefork-os, 2 workers pinned to CPU 1, keep-alive, then a new
#      connection per request ("Connection: close");
#   3. /cpu: singlecore (pinned) vs 2 prefork workers vs goroutines GOMAXPROCS=2,
#      wrk free to run on both CPUs, as the servers are.
# usage: tools/perf/models.sh [ROUNDS] [SECONDS]   (run from the repository root)
set -eu
rounds=${1:-15}; secs=${2:-3}
bin=$(mktemp -d)
go build -o "$bin/bench" ./cmd/bench
go build -o "$bin/barehello" ./tools/barehello
b="$bin/bench serve --addr 127.0.0.1:0"
cmp=tools/perf/compare.sh
echo "## 1. handler overhead: singlecore vs bare net/http, GOMAXPROCS=1, CPU 1"
$cmp -r "$rounds" -d "$secs" -g 0 -- bare="taskset -c 1 $bin/barehello" singlecore="$b --model singlecore --cpus 1"
echo "## 2a. prefork-rr vs prefork-os, 2 workers on CPU 1, keep-alive"
$cmp -r "$rounds" -d "$secs" -g 0 -- prefork-os="$b --model prefork --sched os --workers 2 --cpus 1" prefork-rr="$b --model prefork --sched rr --workers 2 --cpus 1"
echo "## 2b. the same with a new connection per request"
$cmp -r "$rounds" -d "$secs" -g 0 -H "Connection: close" -- prefork-os="$b --model prefork --sched os --workers 2 --cpus 1" prefork-rr="$b --model prefork --sched rr --workers 2 --cpus 1"
echo "## 3. /cpu on 2 cores"
$cmp -r "$rounds" -d "$secs" -g 0-1 -u /cpu -- singlecore="$b --model singlecore --cpus 1" prefork-rr-2="$b --model prefork --workers 2 --cpus 0-1" goroutines-2="$b --model goroutines --workers 2"
rm -rf "$bin"
