// Package commands boots a 16-CPU VM (2 sockets × 4 cores × 2 threads,
// 2 NUMA nodes) and runs every command the README shows there.
package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/vmtest"
	"github.com/corebench/corebench/results"
)

// commandsScript runs the README's commands against one server, then
// each scenario, then report and compare; a step that fails ends it.
const commandsScript = `
fail() { echo "@@fail $*"; tail -n 5 ./*.err ./*.txt 2>/dev/null; exit 1; }
bench serve --model prefork --sched rr --workers max >serve.out 2>serve.err &
s=$!
ready serve.out || fail serve
bench attack http://127.0.0.1:8080/cpu -c 16 -d 4s --cpus 14-15 --json >attack.json &
a=$!
# Once its 16 connections are open it has pinned itself (it pins
# before it connects): where each of its threads may run then.
until [ "$(ls /proc/$a/fd 2>/dev/null | wc -l)" -ge 19 ]; do
  [ -d /proc/$a ] || break
  sleep 0.05
done
awk '/^Cpus_allowed_list:/{print FILENAME, $2}' /proc/$a/task/*/status >attack-cpus.txt
wait $a || fail attack
bench ps >ps.txt || fail ps
bench top --count 1 >top.txt || fail top
bench reload >reload.txt 2>&1 || fail reload
bench ps >ps-reloaded.txt || fail ps
bench scale 4 >scale.txt 2>&1 || fail scale 4
bench ps >ps-scaled.txt || fail ps
bench logs --events --no-follow >events.txt || fail logs
kill -TERM $s
wait $s || fail serve exit $?

# A worker killed is restarted on its own CPU.
bench serve --model prefork --sched rr --workers 4 --cpus 4-7 --addr 127.0.0.1:8081 >serve2.out 2>serve2.err &
s=$!
ready serve2.out || fail serve2
kids=$(cat /proc/$s/task/*/children)
set -- $kids
victim=$2
echo "killed $victim $(awk '/^Cpus_allowed_list:/{print $2}' /proc/$victim/status)" >restart.txt
kill -9 $victim
i=0
while :; do
  for k in $(cat /proc/$s/task/*/children); do
    case " $kids " in *" $k "*) ;; *) new=$k ;; esac
  done
  [ -n "$new" ] && break
  i=$((i+1)); [ $i -gt 600 ] && fail no restart
  sleep 0.1
done
echo "restarted $new $(awk '/^Cpus_allowed_list:/{print $2}' /proc/$new/status)" >>restart.txt
kill -TERM $s
wait $s || fail serve2 exit

for sc in crash reload scale stall crashloop; do
  bench scenario $sc -d 2s --rate 200 --out scen-$sc >scen-$sc.txt 2>&1 || fail scenario $sc
done
bench scenario state -d 2s --out scen-state >scen-state.txt 2>&1 || fail scenario state
bench scenario block --work 50ms --out scen-block >scen-block.txt 2>&1 || fail scenario block
bench scenario sizing -d 2s -c 4 --path / --out scen-sizing >scen-sizing.txt 2>&1 || fail scenario sizing
bench run --profile smoke --models singlecore,prefork-rr --out r1 >/dev/null 2>&1 || fail run r1
bench run --profile smoke --models singlecore,prefork-rr --out r2 >/dev/null 2>&1 || fail run r2
bench report r1 >report.txt 2>&1 || fail report
bench compare r1 r2 >compare.txt 2>&1 || fail compare
echo @@done
`

// TestCommands16CPUs runs every README command on 16 CPUs: serve
// --workers max, attack --cpus, ps, top, reload, scale, logs, each
// scenario, report and compare.
func TestMain(m *testing.M) {
	st := m.Run()
	vmtest.Cleanup()
	os.Exit(st)
}

func TestCommands16CPUs(t *testing.T) {
	r := vmtest.Boot(t, vmtest.Shape{Sockets: 2, Cores: 4, Threads: 2, Nodes: 2}, commandsScript)
	if r.Status != 0 {
		t.Fatalf("the commands: exit %d", r.Status)
	}
	// --workers max is a worker per CPU; ps lists them online, and after
	// scale 4, four.
	for file, want := range map[string]int{"ps.txt": 16, "ps-reloaded.txt": 16, "ps-scaled.txt": 4} {
		if n := strings.Count(vmtest.File(t, r.Dir, file), "online"); n != want {
			t.Errorf("%s: %d workers online, want %d:\n%s", file, n, want, vmtest.File(t, r.Dir, file))
		}
	}
	var att struct {
		Requests  int            `json:"requests"`
		Errors    int            `json:"errors"`
		PerWorker map[string]int `json:"per_worker"`
	}
	if err := json.Unmarshal([]byte(vmtest.File(t, r.Dir, "attack.json")), &att); err != nil {
		t.Fatal(err)
	}
	if att.Requests == 0 || att.Errors != 0 || len(att.PerWorker) < 2 {
		t.Errorf("attack: %+v", att)
	}
	// attack --cpus 14-15: every thread of the generator there.
	lines := strings.Split(strings.TrimSpace(vmtest.File(t, r.Dir, "attack-cpus.txt")), "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 || f[1] != "14-15" {
			t.Errorf("bench attack --cpus 14-15: %q", l)
		}
	}
	if len(lines) < 2 {
		t.Errorf("bench attack's threads: %q", lines)
	}
	if ev := vmtest.File(t, r.Dir, "events.txt"); !strings.Contains(ev, `"replaced"`) || !strings.Contains(ev, `"scaled"`) {
		t.Errorf("events have no replaced or scaled:\n%s", ev)
	}
	// The restarted worker is on the CPU of the one killed, alone.
	m := regexp.MustCompile(`killed (\d+) (\S+)\nrestarted (\d+) (\S+)`).FindStringSubmatch(vmtest.File(t, r.Dir, "restart.txt"))
	if m == nil {
		t.Fatalf("restart.txt: %q", vmtest.File(t, r.Dir, "restart.txt"))
	}
	if m[2] != m[4] || !slices.Contains([]string{"4", "5", "6", "7"}, m[4]) {
		t.Errorf("worker %s on CPU %s killed, its replacement %s on CPUs %s", m[1], m[2], m[3], m[4])
	}
	for _, sc := range []string{"crash", "reload", "scale", "stall", "state", "crashloop", "block", "sizing"} {
		if _, err := results.LoadScenario(filepath.Join(r.Dir, "scen-"+sc)); err != nil {
			t.Errorf("scenario %s: %v\n%s", sc, err, vmtest.File(t, r.Dir, "scen-"+sc+".txt"))
		}
	}
	if !strings.Contains(vmtest.File(t, r.Dir, "compare.txt"), "prefork-rr") {
		t.Errorf("compare:\n%s", vmtest.File(t, r.Dir, "compare.txt"))
	}
}
