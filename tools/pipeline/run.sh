#!/usr/bin/env bash
# HTTP/1.1 pipelining side by side with wrk: against one nginx worker pinned
# to CPU 1, runs on CPU 0, alternately in every round, wrk and bench without
# pipelining, then both with DEPTH requests in flight per connection (wrk
# with a pipeline script, bench with --pipeline DEPTH), and prints each
# figure, each round's ratios and their medians.
# usage: tools/pipeline/run.sh [-r ROUNDS] [-d SECONDS] [-c CONNS] [-P PIPELINED_CONNS] [-p DEPTH] BENCH_BINARY
#   -P: connections of the pipelined runs (default CONNS)
# Take the benchmark lock around it: flock /tmp/corebench-bench.lock tools/pipeline/run.sh ...
set -u
rounds=5; dur=5; conns=100; pconns=""; depth=16
while getopts "r:d:c:P:p:" o; do case $o in r) rounds=$OPTARG;; d) dur=$OPTARG;; c) conns=$OPTARG;; P) pconns=$OPTARG;; p) depth=$OPTARG;; *) exit 2;; esac; done
pconns=${pconns:-$conns}
shift $((OPTIND-1))
[ $# -eq 1 ] || { echo "usage: $0 [-r N] [-d S] [-c C] [-P C] [-p DEPTH] BENCH_BINARY" >&2; exit 2; }
bench=$1
for t in wrk nginx taskset curl; do command -v $t >/dev/null || { echo "needs $t: apt-get update && apt-get install -y wrk nginx-light curl" >&2; exit 1; }; done
tmp=$(mktemp -d); ngpid=""
trap '[ -n "$ngpid" ] && kill $ngpid 2>/dev/null; rm -rf "$tmp"' EXIT
# wrk's pipelining is a script: each call of request() returns DEPTH
# requests in one string, and wrk writes the next batch when all DEPTH
# responses are in.
cat >"$tmp/pipeline.lua" <<'LUA'
init = function(args)
  local n = tonumber(args[1]) or 1
  local batch = {}
  for i = 1, n do batch[i] = wrk.format() end
  pipelined = table.concat(batch)
end
request = function() return pipelined end
LUA
# shellcheck source=tools/pipeline/nginx.sh
source "$(dirname "$0")/nginx.sh"
start_nginx "$tmp" || exit 1
url="http://127.0.0.1:$port/"
wpid=$(pgrep -P "$ngpid" | head -1) # nginx's worker
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$wpid/stat"; }
busy() { # TICKS_BEFORE: the worker's share of its CPU since then, in %
  awk -v a="$1" -v b="$(ticks)" -v hz="$hz" -v d="$dur" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / d }'
}

echo "# $(date -u +%FT%TZ) $(uname -r), nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# $("$bench" --version 2>/dev/null | head -1); $(wrk -v 2>&1 | head -1); $(nginx -v 2>&1)"
echo "# nginx worker on CPU 1, generators on CPU 0; ${dur}s per run; -c $conns without pipelining, -c $pconns with depth $depth"

wrk_run() { # CONNS [ARGS]: prints req/s, errors (socket errors + non-2xx), nginx's CPU %
  local c=$1; shift
  local t0; t0=$(ticks)
  local out; out=$(taskset -c 0 wrk -t1 -c"$c" -d"${dur}s" "$@" "$url" ${depth_arg:+-- $depth_arg})
  local rps err
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  err=$(printf '%s\n' "$out" | awk '/Socket errors/ {gsub(",", ""); s=$4+$6+$8+$10} /Non-2xx/ {n=$NF} END {print s+n}')
  echo "$rps $err $(busy "$t0")"
}
bench_run() { # CONNS [ARGS]: prints req/s, errors, nginx's CPU %
  local c=$1; shift
  local t0; t0=$(ticks)
  local out; out=$(taskset -c 0 "$bench" attack "$url" -c "$c" -d "${dur}s" --json "$@")
  local rps err
  rps=$(printf '%s' "$out" | grep -o '"rps": *[0-9.]*' | head -1 | grep -o '[0-9.]*$')
  err=$(printf '%s' "$out" | grep -o '"errors": *[0-9]*' | head -1 | grep -o '[0-9]*$')
  printf '%.0f %s %s\n' "$rps" "$err" "$(busy "$t0")"
}
printf '%-6s %16s %16s %16s %16s %9s %9s %9s %9s\n' round wrk bench wrk-p$depth bench-p$depth "bench/wrk" "bench-p/bench" "wrk-p/wrk" "bench-p/wrk-p"
r0=(); r1=(); r2=(); r3=()
for i in $(seq "$rounds"); do
  read -r w we wc < <(depth_arg= wrk_run "$conns")
  read -r b be bc < <(bench_run "$conns")
  read -r wp wpe wpc < <(depth_arg=$depth wrk_run "$pconns" -s "$tmp/pipeline.lua")
  read -r bp bpe bpc < <(bench_run "$pconns" --pipeline "$depth")
  q0=$(awk -v a="$b" -v b="$w" 'BEGIN { printf "%.3f", a / b }')
  q1=$(awk -v a="$bp" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
  q2=$(awk -v a="$wp" -v b="$w" 'BEGIN { printf "%.3f", a / b }')
  q3=$(awk -v a="$bp" -v b="$wp" 'BEGIN { printf "%.3f", a / b }')
  printf '%-6s %16s %16s %16s %16s %9s %9s %9s %9s\n' "$i" "$w/$we/$wc" "$b/$be/$bc" "$wp/$wpe/$wpc" "$bp/$bpe/$bpc" "$q0" "$q1" "$q2" "$q3"
  r0+=("$q0"); r1+=("$q1"); r2+=("$q2"); r3+=("$q3")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "(per run: req/s/errors/nginx worker's CPU %)"
echo "median bench / wrk (no pipelining): $(med "${r0[@]}")"
echo "median bench --pipeline $depth / bench: $(med "${r1[@]}")"
echo "median wrk pipeline.lua $depth / wrk: $(med "${r2[@]}")"
echo "median bench --pipeline $depth / wrk pipeline.lua $depth: $(med "${r3[@]}")"
