#!/bin/bash
# Counts the system calls of one nginx worker (pinned to CPU 1, as in
# run.sh) for 1 s while bench pipelines 16 deep over 16 connections from
# CPU 0: how many responses nginx writes per write, and requests it reads
# per read. usage: flock /tmp/corebench-bench.lock tools/pipeline/nginx-syscalls.sh BENCH_BINARY
bench=${1:?usage: $0 BENCH_BINARY}
tmp=$(mktemp -d); port=$((30000 + RANDOM % 20000))
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $tmp/nginx.pid; error_log $tmp/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 "Hello, World!"; } } }
CONF
taskset -c 1 nginx -c "$tmp/nginx.conf" & ngpid=$!
trap 'kill $ngpid; rm -rf $tmp' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
wpid=$(pgrep -P $ngpid | head -1)
taskset -c 0 "$bench" attack http://127.0.0.1:$port/ -c 16 --pipeline 16 -d 3s --json > $tmp/out.json & bpid=$!
sleep 1; timeout 1 strace -c -p $wpid 2>&1 | tail -12; wait $bpid
grep -o '"requests":[0-9]*' $tmp/out.json | head -1   # strace slows nginx many times over: only the ratio of calls means something
