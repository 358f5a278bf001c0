#!/usr/bin/env bash
# Side-by-side req/s of several servers under the same load, alternating
# servers round by round so drift hits them all alike; prints every round
# and each server's median, its median ratio to the first server, and the
# server's CPU time per request (all its processes, from /proc), which is
# steadier than req/s on a noisy VM.
#
# usage: tools/perf/compare.sh [-r ROUNDS] [-d SECS] [-c CONNS] [-t THREADS] [-g GEN_CPUS]
#            [-u PATH] [-H HEADER] [-w warmup_secs] -- NAME='COMMAND' ...
#   Each COMMAND starts a server that prints a line with "listening on http://HOST:PORT"
#   on stdout (bench serve does). The generator is wrk, pinned with taskset to GEN_CPUS.
#   Run it under `flock /tmp/corebench-bench.lock` so no other benchmark shares the machine.
set -u
rounds=5; dur=8; conns=100; threads=1; gen=0; path=/; header=""; warm=1
while getopts "r:d:c:t:g:u:H:w:" o; do
  case $o in r) rounds=$OPTARG;; d) dur=$OPTARG;; c) conns=$OPTARG;; t) threads=$OPTARG;; g) gen=$OPTARG;;
    u) path=$OPTARG;; H) header=$OPTARG;; w) warm=$OPTARG;; *) exit 2;; esac
done
shift $((OPTIND-1)); [ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [-r N] [-d S] [-c C] [-g CPUS] [-u PATH] -- NAME='COMMAND' ..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 1; }
tmp=$(mktemp -d); srv=""
cleanup() { [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
names=(); cmds=()
for spec in "$@"; do names+=("${spec%%=*}"); cmds+=("${spec#*=}"); done

start() { # start server $1, set $srv and $url
  bash -c "exec ${cmds[$1]}" >"$tmp/out" 2>"$tmp/err" & srv=$!
  for _ in $(seq 300); do grep -q 'listening on' "$tmp/out" && break; kill -0 $srv 2>/dev/null || break; sleep 0.02; done
  url=$(grep -o 'http://[^ ]*' "$tmp/out" | head -1)
  [ -n "$url" ] || { echo "server ${names[$1]} did not start:" >&2; cat "$tmp/err" >&2; exit 1; }
}
stop() { kill -TERM "$srv"; wait "$srv" 2>/dev/null; srv=""; }
tree() { local p=$1 c; echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done; }
cputicks() { # CPU ticks (user+system) of the server and its descendants
  local t=0 p; for p in $(tree "$srv"); do t=$((t + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0))); done; echo $t; }
hz=$(getconf CLK_TCK)
hdr=(); [ -n "$header" ] && hdr=(-H "$header")

declare -A got cpu
echo "# $(date -u +%FT%TZ) $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t$threads -c$conns -d${dur}s on CPUs $gen, path $path ${header:+header '$header'}"
for r in $(seq "$rounds"); do
  line="round $r:"
  for i in "${!names[@]}"; do
    start "$i"
    [ "$warm" -gt 0 ] && taskset -c "$gen" wrk -t"$threads" -c"$conns" -d"${warm}s" "${hdr[@]}" "$url$path" >/dev/null
    c0=$(cputicks)
    out=$(taskset -c "$gen" wrk -t"$threads" -c"$conns" -d"${dur}s" "${hdr[@]}" "$url$path")
    c1=$(cputicks)
    stop
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    us=$(awk -v c=$((c1 - c0)) -v n="$reqs" -v hz="$hz" 'BEGIN {printf "%.2f", c / hz * 1e6 / n}')
    got[$i,$r]=$rps; cpu[$i,$r]=$us
    line="$line ${names[$i]}=$rps (${us}us)"
  done
  echo "$line"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in "${!names[@]}"; do
  m=$(for r in $(seq "$rounds"); do echo "${got[$i,$r]}"; done | median)
  ratio=$(for r in $(seq "$rounds"); do awk -v a="${got[$i,$r]}" -v b="${got[0,$r]}" 'BEGIN {printf "%.4f\n", a/b}'; done | median)
  cm=$(for r in $(seq "$rounds"); do echo "${cpu[$i,$r]}"; done | median)
  printf "%-24s median %9.0f req/s, ratio to %s %s;  server CPU %s us/request\n" "${names[$i]}" "$m" "${names[0]}" "$ratio" "$cm"
done
