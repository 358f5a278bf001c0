#!/usr/bin/env bash
# Runs the manycore profile on a big box and packs the result, with the
# box's facts, for committing as results/reference-<cpus>core-<cpu>/.
#
# usage:
#   BENCH=path/to/bench tools/manycore/run.sh OUTDIR [BENCH RUN FLAGS...]
#       on a lent box, from a static bench built elsewhere: needs neither Go
#       nor git nor a network, only bash, coreutils and this file
#   tools/manycore/run.sh [OUTDIR] [BENCH RUN FLAGS...]
#       in a clean checkout with Go: builds bench statically from HEAD
#       (refuses a modified tree); OUTDIR defaults to
#       results/reference-<cpus>core-<cpu>
#   tools/manycore/run.sh --build DIR
#       in a clean checkout with Go: writes DIR/bench (static; GOARCH=arm64
#       for an ARM box) and DIR/run.sh, to copy to the box
#
# environment:
#   BENCH=FILE   the bench binary to run (bench --version must name a
#                commit; one from a modified tree is refused)
#   OUT=DIR      the output directory, if not given as OUTDIR
#   BUDGET_S=N   seconds the script may take once it holds the benchmark
#                lock and has its bench (default 480: 8 minutes)
#   GRACE_S=N    seconds between the SIGINT at the time limit and SIGKILL
#                (default 20)
#   REPLACE=1    empty a non-empty OUTDIR (and replace OUTDIR.tar.gz)
#                instead of refusing
#   FORCE=1      run on fewer than 16 CPUs
#   SMOKE=1      the whole script at smoke scale (seconds per case), to try
#                it; OUTDIR defaults to a temporary directory
#   TIMEOUT_S=N  the hard limit on bench run alone, instead of what
#                BUDGET_S leaves (to try the time limit)
#
# It checks that "$BENCH" --version runs, copies the box's facts (nproc,
# lscpu, /proc/cpuinfo, and the sysfs topology files bench reads, with cat)
# into OUTDIR/box, asks bench run --dry-run --json for the plan's estimate
# and, if it does not fit the budget, shortens --duration (down to 1s, 2
# repeats kept) or stops with one line saying why. It then runs bench run
# --profile manycore --out OUTDIR under the benchmark lock and a hard time
# limit: at the limit bench gets SIGINT, saves what it measured (marked
# incomplete) and renders its report; GRACE_S later, SIGKILL. Ctrl-C does
# the same. Last it packs OUTDIR as OUTDIR.tar.gz beside it and prints what
# to commit. Exit status 0 only for a complete run with no failed case.
#
# OUTDIR, after a run: the bench run files (results.json, report.md,
# report.html, charts/, bench.txt), bench-version.txt, plan.txt and
# plan.json (the plan as run), run.log (bench run's output), manycore-run.txt
# (the budget, limit, flags, times and exit status), box/facts.txt,
# box/cpuinfo.txt, box/lscpu.txt, box/plan-from-sys.txt and box/sys/ (a tree
# for bench run --dry-run --sysfs OUTDIR/box/sys).
set -euo pipefail

prog=$(basename "$0")
self=$(cd "$(dirname "$0")" && pwd)/$prog
here=$(dirname "$self")
lock_file=/tmp/corebench-bench.lock

die() {
  echo "$prog: $*" >&2
  exit 1
}
say() { echo "$prog: $*" >&2; }
smoke() { [ "${SMOKE:-}" = 1 ]; }
# abs PATH prints PATH made absolute against the working directory, without
# needing it to exist.
abs() {
  case $1 in
  /*) printf '%s\n' "$1" ;;
  *) printf '%s\n' "$PWD/${1#./}" ;;
  esac
}
is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
# now prints the seconds since the epoch, with a fraction.
now() { printf '%s\n' "${EPOCHREALTIME:-$(date +%s)}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

usage="usage: BENCH=path/to/bench $prog OUTDIR [BENCH RUN FLAGS...]  (or, in a checkout with Go: $prog [OUTDIR], $prog --build DIR)"

budget=${BUDGET_S:-480}
grace=${GRACE_S:-20}
pack_reserve=10 # seconds kept for packing after bench run's limit
is_count "$budget" || die "BUDGET_S=$budget is not a count of seconds"
is_count "$grace" || die "GRACE_S=$grace is not a count of seconds"
[ -z "${TIMEOUT_S:-}" ] || is_count "$TIMEOUT_S" || die "TIMEOUT_S=$TIMEOUT_S is not a count of seconds"
if smoke; then
  export COREBENCH_SMOKE=1 # bench cuts every case to smoke scale
fi

# --build DIR: a static, stamped bench and this script, to copy to a box.
if [ "${1:-}" = --build ]; then
  [ $# -eq 2 ] || die "$usage"
  dir=$(abs "$2")
  command -v go >/dev/null || die "go is not on PATH: --build needs a checkout with Go"
  # shellcheck source=tools/lib.sh
  source "$here/../lib.sh"
  cd_repo_root
  require_clean
  mkdir -p "$dir"
  CGO_ENABLED=0 go build -buildvcs=true -trimpath -o "$dir/bench" ./cmd/bench
  head=$(git rev-parse HEAD)
  stamp=$(go version -m "$dir/bench")
  grep -q "vcs.revision=$head" <<<"$stamp" || die "$dir/bench is not stamped with HEAD ($head)"
  cp "$self" "$dir/run.sh"
  say "wrote $dir/bench ($(go env GOOS)/$(go env GOARCH), commit ${head:0:12}) and $dir/run.sh"
  say "on the box: cd $(basename "$dir") && BENCH=./bench ./run.sh out"
  exit 0
fi
case ${1:-} in
-h | --help)
  echo "$usage"
  exit 0
  ;;
esac

out=${OUT:-}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  out=$1
  shift
fi
[ "${1:-}" != -- ] || shift
extra=("$@")
for a in "${extra[@]}"; do
  case $a in
  --out | --out=* | --dry-run | --json | --sysfs | --sysfs=* | --profile | --profile=* | --server-host* | --loadgen-host*)
    die "$a is the script's to set (or not for this script): give bench run flags such as --models, --duration, --repeat"
    ;;
  esac
done

# check_commit refuses a bench whose --version names no clean commit: a
# figure from uncommitted code cannot be reproduced. A smoke run only warns.
check_commit() {
  commit=$(sed -n 's/.*(commit \([^,]*\),.*/\1/p' <<<"$version")
  case $commit in
  "" | unknown | *+dirty)
    if smoke; then
      [ -n "${CB_WARNED:-}" ] || say "warning: $version names no clean commit; fine for a smoke run, refused for the real one"
      export CB_WARNED=1 # once, not again under the lock
    else
      die "$version names no clean commit: build bench from a clean checkout with VCS stamping ($prog --build DIR, or CGO_ENABLED=0 go build -buildvcs=true) so the figures can be reproduced"
    fi
    ;;
  esac
}

# check_flags refuses bench run flags that bench rejects, before anything
# is written.
check_flags() {
  local err
  err=$("$bench" run --profile manycore --dry-run --json "${extra[@]}" 2>&1 >/dev/null) ||
    die "bench run rejects the flags given: $(tail -1 <<<"$err")"
}

# The binary: BENCH, or built here from HEAD.
if [ -n "${BENCH:-}" ]; then
  case $BENCH in
  */*) bench=$(abs "$BENCH") ;;
  *) bench=$(command -v "$BENCH") || die "BENCH=$BENCH: no such file" ;;
  esac
  [ -f "$bench" ] || die "BENCH=$BENCH: no such file"
  [ -x "$bench" ] || die "BENCH=$BENCH is not executable: chmod +x it"
  if ! version=$("$bench" --version 2>&1); then
    die "BENCH=$BENCH does not run on this $(uname -s)/$(uname -m) box: $(head -1 <<<"$version" | sed 's/^.*: line [0-9]*: //')"
  fi
  [[ $version == "bench "*"(commit "* ]] || die "BENCH=$BENCH is not bench: its --version printed \"$(head -1 <<<"$version")\""
  check_commit
  check_flags
  [ -n "$out" ] || smoke || die "$usage"
else
  command -v go >/dev/null || die "go is not on PATH: build bench elsewhere ($prog --build DIR in a checkout) and run BENCH=DIR/bench $prog OUTDIR"
  command -v git >/dev/null || die "git is not on PATH: build bench elsewhere ($prog --build DIR in a checkout) and run BENCH=DIR/bench $prog OUTDIR"
  version=
fi

cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
if [ "$cpus" -lt 16 ] && [ -z "${FORCE:-}" ] && ! smoke; then
  die "this machine has $cpus CPUs: a many-core reference wants 16 or more (FORCE=1 runs anyway; bench run --dry-run --sysfs DIR plans for another machine)"
fi
# The CPU's family in a word for the directory name: "epyc", "xeon", "graviton"...
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1 || true)
[ -n "$model" ] || model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1 || true)
word=$(echo "$model" | tr '[:upper:]' '[:lower:]' | grep -oE 'epyc|xeon|ryzen|threadripper|graviton|ampere|neoverse|core|[a-z]+' | grep -vE '^(amd|intel|r|tm|cpu|processor|genuine|authentic)$' | head -1 || true)
name=reference-${cpus}core-${word:-cpu}

# check_out refuses an output directory that has files, or a tarball that
# exists, unless REPLACE=1.
check_out() {
  [ "$out" != / ] || die "OUTDIR cannot be /"
  if [ -e "$out" ] && [ ! -d "$out" ]; then
    die "$out is not a directory"
  fi
  if [ "${REPLACE:-}" != 1 ]; then
    if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
      die "$out has files: give a new or empty directory, or REPLACE=1 to empty it first"
    fi
    [ ! -e "$out.tar.gz" ] || die "$out.tar.gz exists: move it away, or REPLACE=1 to replace it"
  fi
}
if [ -n "$out" ]; then
  out=$(abs "$out")
  out=${out%/}
  check_out
fi

# The benchmark lock, which every benchmark of this project takes. In a
# checkout, tools/perf/exclusive.sh takes it and moves others' compilers
# and tests to SCHED_IDLE meanwhile; elsewhere flock takes it. The budget
# counts from when it is held (and bench is built): only a shared machine
# waits.
if [ -z "${CB_LOCKED:-}" ]; then
  if [ -x "$here/../perf/exclusive.sh" ] && command -v flock >/dev/null && command -v pgrep >/dev/null && command -v chrt >/dev/null; then
    flock -n "$lock_file" true || say "waiting for $lock_file: another benchmark is running"
    exec "$here/../perf/exclusive.sh" env CB_LOCKED=1 bash "$self" ${out:+"$out"} "${extra[@]}"
  elif command -v flock >/dev/null; then
    exec 9>>"$lock_file"
    if ! flock -n 9; then
      say "waiting for $lock_file: another benchmark is running"
      flock 9
    fi
  else
    say "warning: no flock here, so no benchmark lock: nothing else should run on this box meanwhile"
  fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$version" ]; then
  # In a checkout with Go: a static, stamped build of HEAD (lib.sh).
  # shellcheck source=tools/lib.sh
  source "$here/../lib.sh"
  cd_repo_root
  require_clean
  if [ -z "$out" ]; then
    if smoke; then
      out=$(mktemp -d)/$name
    else
      out=$PWD/results/$name
      in_repo=1
    fi
    check_out
  fi
  version=$(CGO_ENABLED=0 build_bench "$tmp/bin")
  bench=$tmp/bin/bench
  check_commit
  check_flags
elif [ -z "$out" ]; then
  out=$(mktemp -d)/$name
fi
start=$(now)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$out"
if [ "${REPLACE:-}" = 1 ]; then
  find "$out" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  rm -f "$out.tar.gz"
fi
echo "$version" >"$out/bench-version.txt"
say "$version"

# The box's facts, so that it can be a planning fixture later
# (bench run --dry-run --sysfs OUTDIR/box/sys). sysfs files claim a size
# they do not have: cat them, never tar them.
box=$out/box
mkdir -p "$box/sys"
section() {
  local title=$1
  shift
  echo "## $title"
  "$@" 2>&1 || echo "(failed: exit $?)"
  echo
}
{
  section "date -u" date -u
  section "uname -a" uname -a
  section "nproc" nproc
  section "nproc --all" nproc --all
  section "model name (/proc/cpuinfo)" sh -c "sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort | uniq -c"
  section "affinity (/proc/self/status)" grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status
  section "cgroup (/proc/self/cgroup)" cat /proc/self/cgroup
  for f in /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpuset.cpus.effective /sys/fs/cgroup/cpuset.mems.effective \
    /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name /etc/os-release; do
    if [ -r "$f" ]; then section "$f" cat "$f"; fi
  done
  section "MemTotal (/proc/meminfo)" grep -E '^(MemTotal|HugePages_Total)' /proc/meminfo
} >"$box/facts.txt"
cat /proc/cpuinfo >"$box/cpuinfo.txt" 2>/dev/null || rm -f "$box/cpuinfo.txt"
if command -v lscpu >/dev/null; then
  { lscpu && echo && lscpu -e; } >"$box/lscpu.txt" 2>&1 || true
fi
for f in /sys/devices/system/cpu/{online,possible,present,smt/control,intel_pstate/no_turbo,cpufreq/boost} \
  /sys/devices/system/cpu/cpu[0-9]*/topology/{core_id,physical_package_id,core_cpus_list,thread_siblings_list} \
  /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor \
  /sys/devices/system/node/node[0-9]*/cpulist; do
  if [ -r "$f" ]; then
    d=$box/sys${f#/sys}
    [ -d "${d%/*}" ] || mkdir -p "${d%/*}"
    cat "$f" >"$d" 2>/dev/null || rm -f "$d"
  fi
done
"$bench" run --profile manycore --dry-run --sysfs "$box/sys" >"$box/plan-from-sys.txt" 2>&1 ||
  say "warning: bench could not plan from the copied topology: see $box/plan-from-sys.txt"

# Fit the plan into the budget: bench's estimate (warm-up, repeats and a
# second per case to start and stop a server; the 2-core reference took
# 91% of its estimate) must fit what the budget leaves after the grace
# period and the packing. Too long: a shorter --duration, down to 1s.
estimate() {
  local j
  j=$("$bench" run --profile manycore --dry-run --json "$@" 2>"$tmp/plan.err") ||
    die "bench run --dry-run failed: $(tail -1 "$tmp/plan.err")"
  sed -n 's/^ *"estimate_s": *\([0-9.]*\).*/\1/p' <<<"$j" | head -1
}
left=$((budget - $(since "$start") - grace - pack_reserve))
flags=("${extra[@]}")
est=
fit=
for d in "" 2500ms 2s 1500ms 1s; do
  try=("${extra[@]}")
  [ -z "$d" ] || try+=(--duration "$d")
  e=$(estimate "${try[@]}")
  [ -n "$e" ] || die "bench run --dry-run --json printed no estimate_s"
  [ -n "$est" ] || est=$e # the plan as asked
  if awk -v e="$e" -v l="$left" 'BEGIN { exit !(e <= l) }'; then
    flags=("${try[@]}")
    fit=$e
    [ -z "$d" ] || say "the plan as asked takes about ${est}s, more than the ${left}s BUDGET_S=$budget leaves for it: running it with --duration $d (about ${e}s)"
    break
  fi
  fit=
done
[ -n "$fit" ] || die "the plan takes about ${e}s even with --duration 1s, and BUDGET_S=$budget leaves ${left}s for it: raise BUDGET_S or run less (--models, --workloads, --connections); the box's facts are in $box"
limit=${TIMEOUT_S:-$left}

"$bench" run --profile manycore --dry-run --json "${flags[@]}" >"$out/plan.json"
"$bench" run --profile manycore --dry-run "${flags[@]}" | tee "$out/plan.txt" >&2

# The run, with its output shown and kept in run.log. bench runs in the
# background, so that the watchdog and this script stay free to act; it
# stays in this process group, so Ctrl-C reaches it once (a second SIGINT
# kills bench before it saves, so the INT trap forwards nothing).
cmd=("$bench" run --profile manycore --out "$out" "${flags[@]}")
quoted=$(printf '%q ' "${cmd[@]}")
say "running (about ${fit}s, stopped at ${limit}s): ${quoted% }"
exec {logfd}> >(tee -a "$out/run.log")
teepid=$!
run_start=$(now)
"${cmd[@]}" >&"$logfd" 2>&1 &
pid=$!
# The watchdog: SIGINT at the limit (bench saves what it measured and marks
# it incomplete), SIGKILL GRACE_S later. It polls, so it ends with bench.
(
  n=0
  while [ "$n" -lt "$limit" ] && kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
  done
  kill -0 "$pid" 2>/dev/null || exit 0
  echo "$prog: time limit (${limit}s): SIGINT to bench run, which saves what it measured" >&2
  : >"$tmp/timed-out"
  kill -INT "$pid" 2>/dev/null || exit 0
  n=0
  while [ "$n" -lt "$grace" ] && kill -0 "$pid" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
  done
  kill -0 "$pid" 2>/dev/null || exit 0
  echo "$prog: bench run still running ${grace}s after SIGINT: SIGKILL" >&2
  : >"$tmp/killed"
  kill -KILL "$pid" 2>/dev/null || true
) &
watchdog=$!
stopped=
trap 'stopped=INT' INT
trap 'stopped=TERM; kill -INT "$pid" 2>/dev/null' TERM HUP
while :; do
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -gt 128 ] && [ -n "$stopped" ]; then
    # A trapped signal interrupted wait: wait again, for bench's own status.
    kill -0 "$pid" 2>/dev/null && continue
    r=0
    wait "$pid" 2>/dev/null || r=$?
    [ "$r" -eq 127 ] || rc=$r
  fi
  break
done
trap - INT TERM HUP
took=$(since "$run_start")
exec {logfd}>&-
for _ in 1 2 3 4 5 6 7 8 9 10; do
  kill -0 "$teepid" 2>/dev/null || break
  sleep 0.1
done
wait "$watchdog" 2>/dev/null || true

status=complete
if [ -e "$tmp/killed" ]; then
  status="killed at the time limit (${limit}s + ${grace}s grace): no results.json may have been saved"
elif [ -e "$tmp/timed-out" ]; then
  status="stopped at the time limit (${limit}s): what was measured is saved, marked incomplete"
elif [ -n "$stopped" ]; then
  status="stopped by SIG$stopped: what was measured is saved, marked incomplete"
elif grep -q '^ *"complete": *false' "$out/results.json" 2>/dev/null; then
  status="interrupted (Ctrl-C?): what was measured is saved, marked incomplete"
elif [ "$rc" -ne 0 ]; then
  status="bench run exited $rc (failed cases or an error: see run.log)"
fi
{
  echo "command: ${quoted% }"
  echo "bench: $version"
  echo "machine: $cpus CPUs, $model"
  echo "started: $started_at"
  echo "budget: ${budget}s for the script (BUDGET_S), grace ${grace}s (GRACE_S)"
  echo "estimate: ${est}s as asked, ${fit}s as run; time limit ${limit}s"
  echo "bench run took: ${took}s, exit status $rc"
  echo "status: $status"
} >"$out/manycore-run.txt"

tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
[ -s "$out/results.json" ] || die "bench run saved no $out/results.json ($status); the box's facts and run.log are packed in $out.tar.gz"
total=$(since "$start")
say "manycore run $status; bench run took ${took}s, the script ${total}s of its ${budget}s budget"
say "written to $out, packed as $out.tar.gz"
base=$(basename "$out")
fixture=${name#reference-}
if [ -n "${in_repo:-}" ]; then
  say "next, here (the .tar.gz is for copying elsewhere):"
elif [ "$base" = "$name" ]; then
  say "next, in a checkout of commit ${commit%+dirty}, with $base.tar.gz copied to its root:"
  echo "  tar -xzf $base.tar.gz -C results" >&2
else
  say "next, in a checkout of commit ${commit%+dirty}, with $base.tar.gz copied to its root:"
  echo "  tar -xzf $base.tar.gz -C results && mv results/$base results/$name" >&2
fi
echo "  mv results/$name/box/sys internal/topology/testdata/$fixture && tools/manycore/plans.sh   # the box as a planning fixture" >&2
echo "  git add results/$name internal/topology/testdata/$fixture tools/manycore/plans && git commit" >&2
if [ "$status" != complete ]; then
  say "the run is not complete ($status): commit it, if at all, as a partial run, not a reference"
  exit 1
fi
