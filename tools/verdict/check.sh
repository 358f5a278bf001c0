#!/usr/bin/env bash
# Checks the verdicts against answers known in advance, on this machine
# (docs/performance.md, "Verdicts"): N runs of the quick profile from one
# clean, committed build, back to back. Between runs of one build nothing
# differs, so every change bench compare calls significant is a false
# alarm; within each run, singlecore (one core) against the models with two
# on /cpu is a difference every run must call. benchstat reads the same
# repeats (bench.txt) as a peer.
#
# usage: tools/verdict/check.sh [N]     N runs (default 4) into results/verdict-check/;
#                                       about 100 s each on 2 cores
#        tools/verdict/check.sh --summary    summary.txt again from the runs there, with the
#                                       tool as committed (no benchmark)
#        SMOKE=1 tools/verdict/check.sh the same at smoke scale, into a temporary directory
#
# It takes the benchmark lock (tools/perf/exclusive.sh).
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/../lib.sh"
n=${1:-4}
cd_repo_root
root=$PWD
require_clean
dest=$root/results/verdict-check
if [ "$n" = --summary ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  go build -o "$tmp/verdict" ./tools/verdict
  (cd "$dest" && "$tmp/verdict" $(ls -d run-* | sort -t- -k2 -n)) >"$dest/summary.txt"
  cat "$dest/summary.txt"
  exit
fi
smoke && dest=$(mktemp -d)/verdict-check
prepare_dest "$dest" summary.txt
run_locked "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build_bench "$tmp/bin"
go build -o "$tmp/bin/verdict" ./tools/verdict
go build -o "$tmp/bin/benchstat" golang.org/x/perf/cmd/benchstat

find "$dest" -mindepth 1 -delete
dirs=()
for i in $(seq 1 "$n"); do
  mkdir -p "$tmp/work"
  (cd "$tmp/work" && bench_env "$tmp/bin/bench" run --out "results/run-$i") || true # a failed case is data here
  mkdir -p "$dest/run-$i"
  # The record, its report and its benchstat file; the charts and the page
  # are the report's to redraw (bench report DIR).
  cp "$tmp/work/results/run-$i/"{results.json,report.md,bench.txt} "$dest/run-$i/"
  dirs+=("$dest/run-$i")
  # benchstat's own reading of the models within the run, against singlecore.
  "$tmp/bin/benchstat" -row /workload -col /model "$dest/run-$i/bench.txt" >"$dest/run-$i/benchstat.txt"
done
for ((i = 1; i <= n; i++)); do
  for ((j = i + 1; j <= n; j++)); do
    "$tmp/bin/bench" compare "$dest/run-$i" "$dest/run-$j" >"$dest/compare-$i-$j.txt" || true
    "$tmp/bin/benchstat" "$dest/run-$i/bench.txt" "$dest/run-$j/bench.txt" >"$dest/benchstat-$i-$j.txt"
  done
done
(cd "$dest" && "$tmp/bin/verdict" "${dirs[@]#"$dest/"}") >"$dest/summary.txt"
cat "$dest/summary.txt"
echo "written to $dest" >&2
