#!/usr/bin/env bash
# Writes what bench run --dry-run plans for each fixture machine of
# internal/topology/testdata into tools/manycore/plans/<fixture>.txt, for
# docs/many-core.md: the placement, the connections and every case of the
# manycore and full profiles on machines this project has no run from.
#
# usage: tools/manycore/plans.sh       (runs nothing but the planner; seconds)
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/../lib.sh"
cd_repo_root
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bench" ./cmd/bench
out=tools/manycore/plans
mkdir -p "$out"
for dir in internal/topology/testdata/*/; do
  dir=${dir%/}
  fixture=$(basename "$dir")
  {
    for profile in manycore full; do
      echo "\$ bench run --profile $profile --dry-run --sysfs $dir"
      "$tmp/bench" run --profile "$profile" --dry-run --sysfs "$dir"
      echo
    done
  } >"$out/$fixture.txt"
  echo "wrote $out/$fixture.txt" >&2
done
