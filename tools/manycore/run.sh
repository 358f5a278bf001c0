#!/usr/bin/env bash
# Runs the manycore profile on a big box from a clean, committed build and
# packs the result for committing as results/reference-<cpus>core-<cpu>/.
#
# usage: tools/manycore/run.sh            on the box itself, in a checkout of
#                                         the commit to measure; refuses fewer
#                                         than 16 CPUs (FORCE=1 runs anyway)
#        SMOKE=1 tools/manycore/run.sh    the same at smoke scale, into a
#                                         temporary directory, to try it
#
# It builds bench statically (CGO_ENABLED=0: the binary runs on a box
# without Go or a matching libc, so it can be built elsewhere and copied),
# prints the plan (bench run --dry-run) before measuring, runs under the
# benchmark lock, and writes results/reference-<cpus>core-<cpu>.tar.gz
# beside the directory: copy that back, unpack it in the repository and
# commit it with its report.
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/../lib.sh"
cd_repo_root
root=$PWD

cpus=$(nproc)
if [ "$cpus" -lt 16 ] && [ -z "${FORCE:-}" ] && ! smoke; then
  die "this machine has $cpus CPUs: a many-core reference wants 16 or more (FORCE=1 runs anyway; bench run --dry-run --sysfs DIR plans for another machine)"
fi
# The CPU's family in a word for the directory name: "epyc", "xeon", "graviton"...
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$model" ] || model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
word=$(echo "$model" | tr 'A-Z' 'a-z' | grep -oE 'epyc|xeon|ryzen|threadripper|graviton|ampere|neoverse|core|[a-z]+' | grep -vE '^(amd|intel|r|tm|cpu|processor|genuine|authentic)$' | head -1)
name=reference-${cpus}core-${word:-cpu}

require_clean
if smoke; then
  dest=$(mktemp -d)/$name
else
  dest=$root/results/$name
fi
prepare_dest "$dest" results.json
run_locked "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 build_bench "$tmp/bin"

profile=manycore
"$tmp/bin/bench" run --profile "$profile" --dry-run

mkdir "$tmp/work"
start=$EPOCHREALTIME
(cd "$tmp/work" && bench_env "$tmp/bin/bench" run --profile "$profile" --out "results/$name")
took=$(seconds_since "$start")
new=$tmp/work/results/$name
[ -s "$new/results.json" ] || die "bench run wrote no $new/results.json"

find "$dest" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
cp -R "$new/." "$dest/"
tar -C "$(dirname "$dest")" -czf "$dest.tar.gz" "$name"
echo "manycore run written to $dest in $took s; packed as $dest.tar.gz" >&2
echo "next: unpack it under results/ of the repository, git add results/$name && git commit" >&2
