#!/bin/bash
# The non-pipelined path before and after: side-by-side.sh with main's bench
# (/tmp/pipe/bench-main, built in /work/main) and this branch's (/tmp/pipe/bench).
# Run under tools/perf/exclusive.sh; output in tools/pipeline/out/hotpath.txt.
for r in 1 2; do
for b in /tmp/pipe/bench-main /tmp/pipe/bench; do
  echo "== $b (batch $r)"
  /work/shared/tools/side-by-side.sh -r 3 -d 5 -- sh -c "$b"' attack "$TARGET" -c "$CONNS" -d "${DUR}s" --json'
done
done
# second script: for b in /tmp/pipe/bench-main /tmp/pipe/bench /tmp/pipe/bench /tmp/pipe/bench-main; do
# second script:   echo "== $b"
# second script:   /work/shared/tools/side-by-side.sh -r 3 -d 5 -- sh -c "$b"' attack "$TARGET" -c "$CONNS" -d "${DUR}s" --json'
# second script: done
