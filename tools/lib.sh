# Shared by tools/reference.sh and tools/workshop/run.sh, which regenerate the
# committed results: every figure in README.md and docs/ has to come from a
# clean, committed build, run the same way each time. Source it; it defines
# functions only.
# shellcheck shell=bash

# The script's own path, taken before it changes directory, for run_locked.
script_path=$(realpath "$0")

# The lock every benchmark of this project takes (tools/perf/exclusive.sh).
bench_lock=/tmp/corebench-bench.lock

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# smoke: true under SMOKE=1, which runs everything at smoke scale (the docs
# test's COREBENCH_SMOKE) into a temporary directory, to try a script quickly.
smoke() { [ "${SMOKE:-}" = 1 ]; }

cd_repo_root() {
  cd "$(git -C "$(dirname "$script_path")" rev-parse --show-toplevel)" || die "not in a git checkout"
}

# require_clean refuses a modified tree: Go stamps the build with
# vcs.modified, results.json records it as "+dirty", and a figure from
# uncommitted code cannot be reproduced. A smoke run only warns, as it
# writes nothing that gets committed.
require_clean() {
  if [ -n "$(git status --porcelain)" ]; then
    if smoke; then
      echo "$(basename "$0"): warning: the tree has uncommitted changes; fine for a smoke run, refused for the real one" >&2
      return
    fi
    die "the tree has uncommitted changes (git status --porcelain): commit or stash them first, results must come from a committed build"
  fi
}

# run_locked re-executes the calling script under tools/perf/exclusive.sh,
# unless it already runs there: the benchmark lock keeps other engineers'
# benchmarks off the machine, and exclusive.sh moves their compilers and
# tests to SCHED_IDLE meanwhile, as for the reference run so far. The build
# runs under the lock too, so it never slows someone else's benchmark.
run_locked() {
  [ -n "${CB_LOCKED:-}" ] && return
  if ! flock -n "$bench_lock" true; then
    echo "$(basename "$0"): waiting for $bench_lock: another benchmark is running" >&2
  fi
  exec tools/perf/exclusive.sh env CB_LOCKED=1 bash "$script_path" "$@"
}

# build_bench DIR builds DIR/bench with VCS stamping (required, not "auto",
# so a build without it fails instead of recording no commit), checks that
# the stamp is HEAD's, and prints bench --version.
build_bench() {
  local dir=$1 head v
  mkdir -p "$dir"
  go build -buildvcs=true -o "$dir/bench" ./cmd/bench
  head=$(git rev-parse --short=12 HEAD)
  v=$("$dir/bench" --version)
  case $v in
  *"commit $head,"*) ;;
  *"commit $head+dirty,"*) smoke || die "built from a modified tree: $v" ;;
  *) die "bench --version does not name HEAD ($head): $v" ;;
  esac
  echo "$v"
}

# bench_env runs a command with COREBENCH_SMOKE=1 under SMOKE=1.
bench_env() {
  if smoke; then
    COREBENCH_SMOKE=1 "$@"
  else
    "$@"
  fi
}

# prepare_dest DIR MARKER makes sure DIR is ours to replace: missing, empty,
# or holding MARKER (a file an earlier run of the script wrote).
prepare_dest() {
  local dir=$1 marker=$2
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$marker" ]; then
    die "$dir has files but no $marker: not a directory this script wrote, so it will not replace it"
  fi
  mkdir -p "$dir"
}

# check_links lists the links of README.md and docs/*.md into DIR (a path
# from the repository root) whose file is missing after a regeneration, so a
# renamed chart is caught before it is committed.
check_links() {
  local dir=$1 f p missing=0
  for f in README.md docs/*.md; do
    while IFS= read -r p; do
      p=${p#../}
      if [ ! -e "$p" ]; then
        echo "$(basename "$0"): $f links to $p, which this run did not write" >&2
        missing=1
      fi
    done < <(grep -o "\(\.\./\)\?$dir/[^]()[:space:]\`]*" "$f" | sort -u)
  done
  return $missing
}

# seconds_since T prints the seconds since T (an $EPOCHREALTIME), one decimal.
seconds_since() {
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
