#!/usr/bin/env bash
# Regenerates the committed reference run (results/reference-2core-epyc/:
# results.json, report.md, report.html, charts/, bench.txt, and screenshots
# of the page, report-1280.png and report-390.png) from a clean,
# committed build, with the command it was always made with. workshop/ is
# tools/workshop/run.sh's and is kept.
#
# usage: tools/reference.sh [DIR]      replace DIR (default results/reference-2core-epyc);
#                                      about 10 minutes on 2 cores
#        SMOKE=1 tools/reference.sh    the same at smoke scale, into a temporary directory
#
# It takes the benchmark lock (tools/perf/exclusive.sh). Commit the result
# before running tools/workshop/run.sh, whose clean-tree check would refuse it.
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/lib.sh"
dest=${1:+$(realpath -m "$1")} # DIR is taken from where the script was started
cd_repo_root
root=$PWD
committed_rel=results/reference-2core-epyc
committed=$root/$committed_rel

require_clean
if [ -z "$dest" ]; then
  if smoke; then
    dest=$(mktemp -d)/reference-2core-epyc
  else
    dest=$committed
  fi
fi
prepare_dest "$dest" results.json
run_locked "$dest"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build_bench "$tmp/bin"

# Run from an empty directory with --out results/NAME, so results.json
# records the same command line as before, and the committed directory is
# only touched once the run has succeeded.
name=$(basename "$dest")
mkdir "$tmp/work"
start=$EPOCHREALTIME
(cd "$tmp/work" && bench_env "$tmp/bin/bench" run --profile standard --worker-sweep --out "results/$name")
took=$(seconds_since "$start")
new=$tmp/work/results/$name
[ -s "$new/results.json" ] || die "bench run wrote no $new/results.json"

# Replace everything but workshop/: charts a new report no longer draws must
# not linger beside it (report.Render leaves files it did not write).
find "$dest" -mindepth 1 -maxdepth 1 ! -name workshop -exec rm -rf {} +
cp -R "$new/." "$dest/"
tools/screenshots.sh "$dest" # report-1280.png and report-390.png, the page as a laptop and a phone show it
echo "reference run written to $dest in $took s" >&2
if [ "$dest" = "$committed" ]; then
  check_links "$committed_rel" || echo "fix those links (or the report) before committing" >&2
  echo "next: git add -A $committed_rel && git commit, then tools/workshop/run.sh" >&2
fi
