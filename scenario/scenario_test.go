package scenario

import (
	"context"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// TestParse: every scenario is parsed from its name to its value with
// every option at its default, and an unknown name is refused with the
// list.
func TestParse(t *testing.T) {
	want := []string{"block", "crash", "crashloop", "reload", "scale", "sizing", "state", "stall"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for i, s := range All() {
		p, err := Parse(want[i])
		if err != nil || p != s || p.Name() != want[i] || !reflect.ValueOf(p).IsZero() {
			t.Errorf("Parse(%q) = %#v, %v", want[i], p, err)
		}
	}
	if _, err := Parse("explode"); err == nil || !strings.Contains(err.Error(), "want block, crash, crashloop, reload, scale, sizing, state, stall") {
		t.Errorf("Parse(explode): %v", err)
	}
	var own []string
	for _, s := range All() {
		if s.OwnServersOnly() {
			own = append(own, s.Name())
		}
	}
	if !slices.Equal(own, []string{"crashloop", "reload", "scale", "sizing", "state"}) {
		t.Errorf("own servers only: %v", own)
	}
}

// TestCheck: a usage problem is found before anything runs, in one line
// that names it; the defaults pass.
func TestCheck(t *testing.T) {
	ext := variant.Variant{Name: "node", Command: "node server.js --port {port}"}
	for _, s := range All() {
		if err := s.Check(); err != nil {
			t.Errorf("%s with its defaults: %v", s.Name(), err)
		}
	}
	for _, tt := range []struct {
		s    Scenario
		want string
	}{
		{Reload{Load: Load{Model: variant.SingleCore}}, "the reload scenario needs a prefork model"},
		{Scale{Load: Load{Model: variant.Goroutines}}, "the scale scenario needs a prefork model"},
		{Crashloop{Load: Load{Model: variant.SingleCore}}, "the crashloop scenario needs a prefork model"},
		{Sizing{Model: variant.SingleCore}, "the sizing scenario needs a prefork model"},
		{Reload{Load: Load{Model: ext}}, "the reload scenario drives servers bench starts itself; node is an external server (--server): run it with block or crash or stall"},
		{Crashloop{Load: Load{Model: ext}}, "the crashloop scenario drives servers bench starts itself"},
		{Sizing{Model: ext}, "the sizing scenario drives servers bench starts itself"},
		{Crash{Load: Load{Model: ext}, How: CrashRequest}, "--crash request needs bench serve's /crash"},
		{Crash{How: "gently"}, `unknown crash "gently": want kill or request`},
		{Crash{Share: -1}, "--share -1: want a share of capacity"},
		{Stall{Share: 3}, "--share 3: want a share of capacity"},
		{Crash{Load: Load{Duration: 2 * time.Second}, At: 3 * time.Second}, "the action at 3s comes after the load ends at 2s"},
		{Stall{At: 6 * time.Second}, "the action at 6s comes after the load ends at 6s"},
		{Scale{At: 3 * time.Second}, "scale acts at 3s and 6s: make the load last longer than 6s"},
		{Block{Iters: workload.MaxCPUIters + 1}, "is over /cpu's limit"},
		{Block{At: 3 * time.Second}, "the action at 3s comes after the load ends at 3s"},
		{Block{Server: variant.Goroutines}, "the block scenario runs goroutines already"},
	} {
		err := tt.s.Check()
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%#v: %v, want %q", tt.s, err, tt.want)
		}
		if _, err := tt.s.Run(context.Background(), Env{}); err == nil || err.Error() != tt.s.Check().Error() {
			t.Errorf("%s ran with %v", tt.s.Name(), err)
		}
	}
	if err := CheckServer(Block{}, ext); err != nil {
		t.Errorf("block refuses an external server: %v", err)
	}
	if err := CheckServer(State{}, ext); err == nil || !strings.Contains(err.Error(), "the state scenario drives servers bench starts itself") {
		t.Errorf("state takes an external server: %v", err)
	}
}

// TestDefaults: zero fields take the defaults the docs name; the
// timeline scenarios act a third of the way in.
func TestDefaults(t *testing.T) {
	l := Load{}.WithDefaults()
	if l != (Load{Model: DefaultModel, Workers: DefaultWorkers, Rate: DefaultRate, Path: DefaultPath, Duration: DefaultDuration, Connections: DefaultConnections}) {
		t.Errorf("Load defaults %+v", l)
	}
	if l := (Load{Model: variant.SingleCore, Rate: 10, Closed: true}).WithDefaults(); l.Model != variant.SingleCore || l.Rate != 10 || !l.Closed {
		t.Errorf("Load defaults replaced what was set: %+v", l)
	}
	if c := (Crash{}).withDefaults(); c.At != 2*time.Second || c.How != CrashKill || c.Restart != DefaultRestart {
		t.Errorf("Crash defaults %+v", c)
	}
	if c := (Crash{Restart: -1}).withDefaults(); c.Restart != -1 {
		t.Errorf("a negative Restart (never) became %v", c.Restart)
	}
	if s := (Scale{}).withDefaults(); s.Workers != ScaleFrom || s.At != 2*time.Second {
		t.Errorf("Scale defaults %+v", s)
	}
	if s := (Stall{Load: Load{Duration: 3 * time.Second}}).withDefaults(); s.At != time.Second || s.For != DefaultStall {
		t.Errorf("Stall defaults %+v", s)
	}
	if c := (Crashloop{}).withDefaults(); c.ExitAfter != DefaultExitAfter {
		t.Errorf("Crashloop defaults %+v", c)
	}
	b := (Block{}).withDefaults()
	if b.Rate != BlockRate || b.Path != BlockPath || b.Duration != BlockDuration || b.At != BlockAt || b.Connections != DefaultConnections ||
		b.Work != DefaultWork || b.Threshold != DefaultThreshold || b.Workers < 2 {
		t.Errorf("Block defaults %+v", b)
	}
	if s := (Sizing{}).withDefaults(); s != (Sizing{Model: DefaultModel, Path: SizingPath, Duration: SizingDuration, Connections: SizingConnections}) {
		t.Errorf("Sizing defaults %+v", s)
	}
	if s := (State{}).withDefaults(); s != (State{Workers: DefaultWorkers, Duration: DefaultDuration, Requests: DefaultRequests, Users: DefaultUsers}) {
		t.Errorf("State defaults %+v", s)
	}
}

// TestServeArgs: the `bench serve` each scenario starts first, which
// bench serve's flags must go on taking.
func TestServeArgs(t *testing.T) {
	for _, tt := range []struct {
		s    Scenario
		want string
	}{
		{Crash{}, "--model prefork --sched rr --workers 4 --addr 127.0.0.1:0 --control D/master.sock --chaos"},
		{Crash{Load: Load{Model: variant.SingleCore}, Startup: time.Second}, "--model singlecore --addr 127.0.0.1:0 --chaos --startup 1s"},
		{Crash{Load: Load{Model: variant.PreforkReusePort}, How: CrashRequest, NoHandover: true}, "--model prefork --sched reuseport --workers 4 --addr 127.0.0.1:0 --control D/master.sock --chaos --no-handover"},
		{Crashloop{MaxRestarts: 3, Startup: 10 * time.Millisecond}, "--model prefork --sched rr --workers 4 --addr 127.0.0.1:0 --control D/master.sock --startup 10ms --exit-after 300ms --max-restarts 3"},
		{Crashloop{MinUptime: time.Second, ExitAfter: time.Second}, "--model prefork --sched rr --workers 4 --addr 127.0.0.1:0 --control D/master.sock --exit-after 1s --min-uptime 1s"},
		{Reload{Load: Load{Model: variant.PreforkReusePort}, NoHandover: true, Startup: time.Second}, "--model prefork --sched reuseport --workers 4 --addr 127.0.0.1:0 --control D/master.sock --no-handover --startup 1s"},
		{Scale{}, "--model prefork --sched rr --workers 2 --addr 127.0.0.1:0 --control D/master.sock"},
		{Stall{Load: Load{Model: variant.Goroutines, Workers: 3}}, "--model goroutines --workers 3 --addr 127.0.0.1:0"},
		{Sizing{}, "--model singlecore --addr 127.0.0.1:0 --cpus "}, // the neighbour, on the last CPU
		{State{Workers: 3}, "--model prefork --sched rr --workers 3 --addr 127.0.0.1:0 --control D/prefork-rr.sock"},
		{Block{Workers: 3}, "--model singlecore --addr 127.0.0.1:0"},
	} {
		var got []string
		env := Env{Dir: "D", Serve: func(args ...string) *exec.Cmd {
			got = append(got, strings.Join(args, " "))
			return exec.Command("/bin/false") // the server fails: the scenario stops there
		}}
		if _, err := tt.s.Run(context.Background(), env); err == nil || len(got) != 1 || !strings.HasPrefix(got[0], "serve "+tt.want) {
			t.Errorf("%s: bench %q (%v), want bench serve %s", tt.s.Name(), got, err, tt.want)
		}
	}
}
