#!/bin/bash
# Counts the system calls of one nginx worker (pinned to CPU 1, as in
# run.sh) for 1 s while bench pipelines 16 deep over 16 connections from
# CPU 0: how many responses nginx writes per write, and requests it reads
# per read. usage: flock /tmp/corebench-bench.lock tools/pipeline/nginx-syscalls.sh BENCH_BINARY
bench=${1:?usage: $0 BENCH_BINARY}
tmp=$(mktemp -d); ngpid=""
trap '[ -n "$ngpid" ] && kill $ngpid; rm -rf $tmp' EXIT
# shellcheck source=tools/pipeline/nginx.sh
source "$(dirname "$0")/nginx.sh"
start_nginx "$tmp" || exit 1
wpid=$(pgrep -P $ngpid | head -1)
taskset -c 0 "$bench" attack http://127.0.0.1:$port/ -c 16 --pipeline 16 -d 3s --json > $tmp/out.json & bpid=$!
sleep 1; timeout 1 strace -c -p $wpid 2>&1 | tail -12; wait $bpid
grep -o '"requests":[0-9]*' $tmp/out.json | head -1   # strace slows nginx many times over: only the ratio of calls means something
