#!/usr/bin/env bash
# Runs every command of docs/workshop.md's ```sh runnable blocks, in order,
# back to back, with a clean, committed build of bench on PATH, and writes
# results/reference-2core-epyc/workshop/: transcript.txt (each command and
# its output, the machine time of each lesson), timings.tsv (each lesson's
# machine time, which docs/workshop.md's Timing table is checked against:
# docs/figures_test.go) and the scenarios' charts the workshop shows, so
# that every figure of the workshop comes from it.
#
# usage: tools/workshop/run.sh [DIR]      replace DIR (default results/reference-2core-epyc/workshop);
#                                         about 4½ minutes on 2 cores
#        SMOKE=1 tools/workshop/run.sh    the same at smoke scale, into a temporary directory
#        PLAN=1 tools/workshop/run.sh     print the commands it would run, and stop
#        TIMINGS=1 tools/workshop/run.sh [DIR]   rewrite DIR's timings.tsv from its transcript.txt, run nothing
#
# What a learner does by hand, done here:
# - `bench serve` runs in the background (terminal 1); the next command waits
#   for its `listening on` line. It is stopped (SIGTERM, then reaped) when
#   the next server needs the port, before a `bench run` or `bench scenario`
#   (which start their own servers and should not share the CPUs with an
#   idle one), and at the end of its lesson.
# - A `bench serve` line with no commands of its own (lesson 2's os and
#   reuseport) gets the ones that followed the lesson's previous server: the
#   lesson says "run the same four attacks against each".
# - `<master pid>` is the pid of the server's listening line.
# - A command with redis://127.0.0.1:6379 gets a throwaway redis-server
#   there, as lesson 6 says to start, stopped at the end of the lesson.
# - A block tagged with the programs it needs besides bench (```sh runnable
#   node: the Node.js cluster of examples/) runs only where they are on
#   PATH; elsewhere each of its lines is skipped with a note in the
#   transcript, as TestDocumentedCommands skips them. Commands run in a work
#   directory where examples/ is the repository's, so the docs' relative
#   paths (examples/node-cluster/server.js) work.
# It takes the benchmark lock (tools/perf/exclusive.sh).
set -euo pipefail
# shellcheck source=tools/lib.sh
source "$(dirname "$0")/../lib.sh"
dest=${1:+$(realpath -m "$1")} # DIR is taken from where the script was started
cd_repo_root
root=$PWD
committed_rel=results/reference-2core-epyc/workshop
committed=$root/$committed_rel

doc=docs/workshop.md
redis_url=redis://127.0.0.1:6379

# The charts of each scenario command, by the name they are kept under in
# the workshop directory (timeline.png becomes NAME.png, counters.png
# NAME-counters.png), as docs/workshop.md links them; "-" keeps none. A new
# scenario command in the workshop needs a line here.
declare -A chart_name=(
  ["bench scenario crash"]=crash-prefork-rr
  ["bench scenario crash --model singlecore"]=crash-singlecore
  ["bench scenario crash --model goroutines"]=crash-goroutines
  ["bench scenario crash --workers 2 --path /cpu --share 0.8 --startup 1s"]=crash-capacity
  ["bench scenario crashloop --max-restarts 3"]=crashloop
  ["bench scenario reload"]=reload-prefork-rr
  ["bench scenario reload --model prefork-reuseport --no-handover --no-keepalive --path /cpu --share 1.2"]=reload-reuseport-no-handover
  ["bench scenario reload --model prefork-reuseport --no-keepalive --path /cpu --share 1.2"]=reload-reuseport-handover
  ["bench scenario state"]=-
  ["bench scenario state --state $redis_url"]=state
  ["bench scenario stall --model singlecore --out results/stall-open"]=stall-open
  ["bench scenario stall --model singlecore --closed --overlay results/stall-open"]=stall-closed
  ["bench scenario sizing"]=sizing
  ["bench scenario block"]=block
  ["bench scenario block --server 'node=node examples/node-cluster/server.js --port {port} --workers 1'"]=block-node
  ["bench scenario block --server 'node-cluster=node examples/node-cluster/server.js --port {port} --workers 2'"]=block-node-cluster
  ["bench scenario crash --server 'node=node examples/node-cluster/server.js --port {port} --workers {workers}'"]=crash-node
)

# doc_commands prints "LESSON<TAB>FILE:LINE<TAB>NEEDS<TAB>COMMAND" for every
# command of a ```sh runnable block, read as TestDocumentedCommands reads
# them: a line ending in a backslash goes on, a # after a space (outside
# quotes) starts a comment. LESSON is the number of the "## N. Title"
# heading above it; NEEDS the words after "runnable" on the block's fence,
# the programs it needs besides bench ("-" for none).
doc_commands() {
  awk -v file="$1" '
    function strip(l,   i, c, q) {
      q = ""
      for (i = 1; i <= length(l); i++) {
        c = substr(l, i, 1)
        if (q != "") { if (c == q) q = "" }
        else if (c == "\047" || c == "\"") q = c
        else if (c == "#" && (i == 1 || substr(l, i - 1, 1) == " ")) return substr(l, 1, i - 1)
      }
      return l
    }
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    /^## [0-9]+\. / { lesson = $2; sub(/\.$/, "", lesson) }
    {
      t = trim($0)
      if (t ~ /^```/) {
        inblock = !inblock; runnable = 0; needs = ""
        if (inblock) {
          n = split(substr(t, 4), w, /[ \t]+/)
          for (i = 1; i <= n; i++) {
            if (w[i] == "runnable") runnable = 1
            else if (runnable && w[i] != "") needs = needs (needs == "" ? "" : ",") w[i]
          }
        }
        if (needs == "") needs = "-"
        next
      }
      if (!inblock || !runnable) next
      t = trim(strip($0))
      if (cur == "" && t == "") next
      if (cur == "") { cur = t; at = NR } else cur = cur " " t
      if (cur ~ /\\$/) { sub(/[ \t]*\\$/, "", cur); next }
      printf "%s\t%s:%d\t%s\t%s\n", lesson, file, at, needs, cur
      cur = ""
    }
  ' "$1"
}

# Read and check every command before anything runs: a command this script
# cannot run should fail now, not four minutes in.
lessons=() sources=() needs=() cmds=()
while IFS=$'\t' read -r l s nd c; do
  [ -n "$l" ] || die "$s: a runnable command outside a numbered lesson: $c"
  case $c in bench\ * | curl\ * | kill\ *) ;; *) die "$s: not a bench, curl or kill command: $c" ;; esac
  # The docs test allows no shell syntax in these lines; the script evals
  # them (for their quotes), so it checks the same.
  [[ ${c//<master pid>/} == *[\|\&\;\<\>\$\`]* ]] && die "$s: shell syntax in a runnable line: $c"
  if [[ $c == "bench scenario "* ]] && [ -z "${chart_name[$c]:-}" ]; then
    die "$s: no chart name for '$c': add it to chart_name in $0"
  fi
  lessons+=("$l") sources+=("$s") needs+=("$nd") cmds+=("$c")
done < <(doc_commands "$doc")
[ ${#cmds[@]} -gt 0 ] || die "no runnable commands in $doc"

# Give a server line without commands of its own the commands that followed
# the previous server of its lesson (see the top of this file).
plan_l=() plan_s=() plan_n=() plan_c=()
n=${#cmds[@]}
prev_own=() prev_lesson=""
for ((i = 0; i < n; i++)); do
  plan_l+=("${lessons[i]}") plan_s+=("${sources[i]}") plan_n+=("${needs[i]}") plan_c+=("${cmds[i]}")
  [[ ${cmds[i]} == "bench serve "* ]] || continue
  [ "${lessons[i]}" = "$prev_lesson" ] || prev_own=()
  prev_lesson=${lessons[i]}
  own=()
  for ((j = i + 1; j < n; j++)); do
    if [ "${lessons[j]}" != "${lessons[i]}" ] || [[ ${cmds[j]} == "bench serve "* ]]; then break; fi
    own+=("$j")
  done
  if [ ${#own[@]} -eq 0 ]; then
    for j in "${prev_own[@]}"; do
      plan_l+=("${lessons[j]}") plan_s+=("${sources[j]} (again, for ${sources[i]})") plan_n+=("${needs[j]}") plan_c+=("${cmds[j]}")
    done
  else
    prev_own=("${own[@]}")
  fi
done

# PLAN=1 prints what would run, and where each line comes from, and stops.
if [ "${PLAN:-}" = 1 ]; then
  for ((i = 0; i < ${#plan_c[@]}; i++)); do
    nd=""
    [ "${plan_n[i]}" = - ] || nd=" (needs ${plan_n[i]})"
    printf 'lesson %s\t%s\t%s%s\n' "${plan_l[i]}" "${plan_s[i]}" "${plan_c[i]}" "$nd"
  done
  exit 0
fi

# write_timings TRANSCRIPT OUT writes OUT, the machine time of each lesson
# as the transcript's "--- lesson N: S s" lines have it, with the lesson's
# title from the doc, and the total: the file docs/figures_test.go checks
# the doc's Timing table against.
write_timings() {
  awk '
    FNR == NR {
      if ($0 ~ /^## [0-9]+\. /) { n = $0; sub(/^## /, "", n); l = n; sub(/\..*/, "", l); sub(/^[0-9]+\. /, "", n); title[l] = n }
      next
    }
    /^--- lesson [0-9]+: [0-9.]+ s$/ { split($0, f, /[ :]+/); printf "%s\t%s\t%s\n", f[3], f[4], title[f[3]]; next }
    /^--- total: [0-9.]+ s$/ { split($0, f, /[ :]+/); printf "total\t%s\t\n", f[3] }
  ' "$root/$doc" "$1" >"$2.new"
  {
    printf '# lesson\tseconds\ttitle: machine time of each lesson of %s, from the "--- lesson" lines of transcript.txt (tools/workshop/run.sh)\n' "$doc"
    cat "$2.new"
  } >"$2"
  rm "$2.new"
  grep -q '^total' "$2" || die "$1 has no '--- total' line: not a whole run of the workshop"
}

# TIMINGS=1 rewrites a workshop directory's timings.tsv from its transcript.
if [ "${TIMINGS:-}" = 1 ]; then
  d=${dest:-$committed}
  [ -f "$d/transcript.txt" ] || die "$d has no transcript.txt"
  write_timings "$d/transcript.txt" "$d/timings.tsv"
  echo "written: $d/timings.tsv" >&2
  exit 0
fi

needs_redis=false
for c in "${cmds[@]}"; do [[ $c == *"$redis_url"* ]] && needs_redis=true; done
command -v curl >/dev/null || die "needs curl for lesson 3: apt-get install -y curl"
if $needs_redis; then
  command -v redis-server >/dev/null || die "needs redis-server for lesson 6: apt-get install -y redis-server"
fi

require_clean
if [ -z "$dest" ]; then
  if smoke; then
    dest=$(mktemp -d)/workshop
  else
    dest=$committed
  fi
fi
prepare_dest "$dest" transcript.txt
run_locked "$dest"

# port_busy PORT: whether something on 127.0.0.1 accepts on PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_busy 8080 && die "127.0.0.1:8080 is in use: the workshop's servers need it"
if $needs_redis && port_busy 6379; then
  die "127.0.0.1:6379 is in use: lesson 6 starts its own redis-server there"
fi

tmp=$(mktemp -d)
out=$(mktemp -d) # the new workshop directory, kept on failure to be read
mkdir "$tmp/work" "$tmp/logs"
# The docs name examples/ relative to the repository, as a learner runs
# them from a checkout.
[ ! -d "$root/examples" ] || ln -s "$root/examples" "$tmp/work/examples"
# A FIFO opened read-write never reaches end of file: the watchdog's read
# on it is a timer that needs no child process.
mkfifo "$tmp/never"
exec {never}<>"$tmp/never"

serve_pid="" serve_drain="" serve_master="" redis_pid="" redis_drain=""
failures=()

# start_bg CMD PATTERN LOG starts CMD (a string, evaluated for its quotes)
# in the background and waits for a stdout line containing PATTERN, an
# event rather than a sleep; later output goes to LOG. Sets bg_pid,
# bg_drain (the reader keeping its stdout from filling) and bg_line.
start_bg() {
  local cmd=$1 pattern=$2 log=$3 fifo=$tmp/start.fifo line fd
  mkfifo "$fifo"
  # The subshell execs the command, so $! is its pid. setsid (which does
  # not fork here: the subshell leads no process group) keeps a Ctrl-C in
  # the terminal from reaching it, so that the trap alone stops it, with one
  # SIGTERM: bench takes a second signal as "stop now". COREBENCH_SMOKE is
  # not set: a smoke server stops once ready, and the commands after it
  # need it up.
  (eval "exec setsid $cmd") >"$fifo" 2>>"$log" </dev/null &
  bg_pid=$!
  exec {fd}<"$fifo"
  rm "$fifo"
  bg_line=""
  while IFS= read -r -t 60 -u "$fd" line; do
    if [[ $line == *"$pattern"* ]]; then
      bg_line=$line
      break
    fi
    printf '%s\n' "$line" >>"$log"
  done
  cat <&"$fd" >>"$log" &
  bg_drain=$!
  exec {fd}<&-
}

# stop_bg PID DRAIN stops a background process: SIGTERM, then a wait bounded
# by a watchdog that sends SIGKILL after 20 s (bench serve's drain grace is
# 10 s). Returns the process's exit status.
stop_bg() {
  local pid=$1 drain=$2 st=0 wd
  kill -TERM "$pid" 2>/dev/null || true
  (
    trap 'exit 0' TERM
    read -r -t 20 -u "$never" _ || true
    kill -KILL "$pid" 2>/dev/null || true
  ) &
  wd=$!
  wait "$pid" || st=$?
  kill -TERM "$wd" 2>/dev/null || true
  wait "$wd" 2>/dev/null || true
  kill -TERM "$drain" 2>/dev/null || true
  wait "$drain" 2>/dev/null || true
  return "$st"
}

stop_serve() {
  [ -n "$serve_pid" ] || return 0
  local st=0
  stop_bg "$serve_pid" "$serve_drain" || st=$?
  serve_pid="" serve_master=""
  if [ "$st" -ne 0 ]; then
    failures+=("$serve_src: the server exited with status $st on SIGTERM (log: $serve_log)")
    echo "(the server exited with status $st on SIGTERM)" >>"$out/transcript.txt"
  fi
}

stop_redis() {
  [ -n "$redis_pid" ] || return 0
  stop_bg "$redis_pid" "$redis_drain" || true
  redis_pid=""
}

installed=false
cleanup() {
  stop_serve || true
  stop_redis || true
  rm -rf "$tmp"
  if ! $installed && [ -e "$out/transcript.txt" ]; then
    echo "$(basename "$0"): $dest left as it was; this run's transcript: $out/transcript.txt" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_bench "$tmp/bin" >"$tmp/version"
version=$(cat "$tmp/version")
export PATH="$tmp/bin:$PATH"
cd "$tmp/work" # bench run --out results/NAME and the scenarios write here

# bench ps, logs, reload and top pick the one master running: another one
# on the machine would make them fail or answer for the wrong server.
if others=$(bench ps 2>&1); then
  die "a prefork master is already running (bench ps lists it); stop it first: $others"
fi
[[ $others == *"no prefork master is running"* ]] || die "bench ps: $others"

t=$out/transcript.txt
model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | xargs)
vm=""
grep -qw hypervisor /proc/cpuinfo && vm=" virtual machine"
scale=""
smoke && scale=" at smoke scale (SMOKE=1)"
echo "# Every command of $doc, run back to back by tools/workshop/run.sh$scale on a $(nproc)-CPU $model$vm ($(uname -sr)), $(date -u +%F), $version: bench serve lines ran in the background, each awaited by its listening line." >"$t"

# run_fg SOURCE DISPLAY CMD runs CMD in the foreground and appends it and
# its output to the transcript; the output is also left in $tmp/out.
run_fg() {
  local src=$1 display=$2 cmd=$3 st=0
  printf '$ %s\n' "$display" >>"$t"
  (
    if smoke; then export COREBENCH_SMOKE=1; fi
    eval "exec $cmd"
  ) >"$tmp/out" 2>&1 </dev/null || st=$?
  cat "$tmp/out" >>"$t"
  # curl's JSON has no final newline.
  [ ! -s "$tmp/out" ] || [ -z "$(tail -c 1 "$tmp/out")" ] || echo >>"$t"
  if [ "$st" -ne 0 ]; then
    echo "(exit status $st)" >>"$t"
    failures+=("$src: $display: exit status $st")
  fi
  echo >>"$t"
  return "$st"
}

# keep_charts SOURCE NAME copies the charts a scenario listed on its
# "written:" line as NAME.png, NAME-counters.svg, ..., and its
# result.json as NAME.json.
keep_charts() {
  local src=$1 name=$2 f base stem ext files
  files=$(sed -n 's/^written: //p' "$tmp/out")
  if [ -z "$files" ]; then
    failures+=("$src: no 'written:' line: its charts could not be kept")
    return
  fi
  [ "$name" != - ] || return 0
  for f in $files; do
    base=$(basename "$f")
    stem=${base%.*} ext=${base##*.}
    case $ext in
    png | svg) ;;
    json) # what was measured, every sample, kept beside its charts
      cp "$f" "$out/$name.json"
      continue
      ;;
    *) continue ;;
    esac
    if [ "$stem" = timeline ]; then
      cp "$f" "$out/$name.$ext"
    else
      cp "$f" "$out/$name-$stem.$ext"
    fi
  done
}

# keep_report DIR keeps a workshop run's report.md and its SVG charts as
# NAME/ (lesson 7's memory figures are only in it); the PNG charts and
# results.json are left out to keep the repository small, so its chart
# links are pointed at the SVGs.
keep_report() {
  local dir=$1 name
  name=$(basename "$dir")
  [ -f "$dir/report.md" ] || return 0
  mkdir -p "$out/$name/charts"
  sed 's#(charts/\([^)]*\)\.png)#(charts/\1.svg)#g' "$dir/report.md" >"$out/$name/report.md"
  cp "$dir"/charts/*.svg "$out/$name/charts/" 2>/dev/null || true
}

start_serve() {
  local src=$1 cmd=$2
  stop_serve
  serve_src=$src
  serve_log=$tmp/logs/serve-${#failures[@]}-$RANDOM.log
  printf '$ %s\n' "$cmd" >>"$t"
  start_bg "$cmd" "listening on http://" "$serve_log"
  serve_pid=$bg_pid serve_drain=$bg_drain
  if [ -z "$bg_line" ]; then
    stop_bg "$serve_pid" "$serve_drain" || true
    serve_pid=""
    cat "$serve_log" >>"$t"
    echo >>"$t"
    failures+=("$src: $cmd: no listening line within 60 s")
    return 1
  fi
  printf '%s\n\n' "$bg_line" >>"$t"
  serve_master=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$bg_line")
  if [ "$serve_master" != "$serve_pid" ]; then
    failures+=("$src: the listening line's pid $serve_master is not the started process $serve_pid")
  fi
}

start_redis() {
  [ -z "$redis_pid" ] || return 0
  mkdir -p "$tmp/redis"
  local cmd
  cmd="redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir $(printf %q "$tmp/redis") --logfile ''"
  start_bg "$cmd" "Ready to accept connections" "$tmp/logs/redis.log"
  redis_pid=$bg_pid redis_drain=$bg_drain
  if [ -z "$bg_line" ]; then
    failures+=("redis-server did not start: $(tail -n 3 "$tmp/logs/redis.log")")
    return 1
  fi
}

lesson="" lesson_start="" total_start=$EPOCHREALTIME
end_lesson() {
  [ -n "$lesson" ] || return 0
  stop_serve
  stop_redis
  printf -- '--- lesson %s: %s s\n\n' "$lesson" "$(seconds_since "$lesson_start")" >>"$t"
}

# missing NEEDS prints the programs of NEEDS (a,b or -) not on PATH.
missing() {
  local p out=()
  [ "$1" != - ] || return 0
  for p in ${1//,/ }; do command -v "$p" >/dev/null || out+=("$p"); done
  echo "${out[*]}"
}
skipped=()

for ((i = 0; i < ${#plan_c[@]}; i++)); do
  src=${plan_s[i]} cmd=${plan_c[i]}
  if [ "${plan_l[i]}" != "$lesson" ]; then
    end_lesson
    lesson=${plan_l[i]} lesson_start=$EPOCHREALTIME
    printf '=== lesson %s\n' "$lesson" >>"$t"
  fi
  if m=$(missing "${plan_n[i]}") && [ -n "$m" ]; then
    printf '$ %s\n(skipped: needs %s, not installed on this machine)\n\n' "$cmd" "$m" >>"$t"
    skipped+=("$src: $cmd (needs $m)")
    echo "[lesson $lesson] skipped, needs $m: $cmd" >&2
    continue
  fi
  echo "[lesson $lesson] $cmd" >&2
  case $cmd in
  "bench serve "*)
    start_serve "$src" "$cmd" || true
    continue
    ;;
  "bench run "* | "bench scenario "*) stop_serve ;;
  esac
  if [[ $cmd == *"<master pid>"* ]]; then
    if [ -z "$serve_master" ]; then
      failures+=("$src: $cmd: no server running to take the pid of")
      continue
    fi
    cmd=${cmd//<master pid>/$serve_master}
  fi
  if [[ $cmd == *"$redis_url"* ]]; then
    start_redis || continue
  fi
  run_fg "$src" "$cmd" "$cmd" || continue
  case $cmd in
  "bench scenario "*) keep_charts "$src" "${chart_name[${plan_c[i]}]}" ;;
  "bench run "*)
    if [[ $cmd =~ --out[=\ ]([^ ]+) ]]; then keep_report "${BASH_REMATCH[1]}"; fi
    ;;
  esac
done
end_lesson
printf -- '--- total: %s s\n' "$(seconds_since "$total_start")" >>"$t"
write_timings "$t" "$out/timings.tsv"
if [ ${#skipped[@]} -gt 0 ]; then
  echo "skipped ${#skipped[@]} commands whose programs are missing (install them for a complete transcript):" >&2
  printf '  %s\n' "${skipped[@]}" >&2
fi

if [ ${#failures[@]} -gt 0 ]; then
  printf '%s\n' "${failures[@]}" >&2
  die "${#failures[@]} failed"
fi
cd "$root"
# Replace the whole directory: charts the workshop no longer makes go too.
find "$dest" -mindepth 1 -delete
cp -R "$out/." "$dest/"
rm -rf "$out"
installed=true
echo "workshop written to $dest in $(seconds_since "$total_start") s" >&2
if [ "$dest" = "$committed" ]; then
  check_links "$committed_rel" || echo "fix those links before committing" >&2
  echo "next: update docs/workshop.md's figures and Timing table from $committed_rel/transcript.txt and timings.tsv (go test ./docs says what differs), then commit" >&2
fi
