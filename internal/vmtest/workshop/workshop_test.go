// Package workshop boots a 4-CPU VM (one socket, four cores), and on
// request a 16-CPU one, and runs
// docs/workshop.md's lessons 1 to 5, 8, 10 and 11 there, their commands
// at a scale an emulated guest finishes in two minutes, and checks that
// each shows what its lesson says (6, 7 and 9 are bench runs and
// scenarios that commands/ runs). Under emulation no figure is a performance
// figure: the checks are of shape (a cliff, which of two is larger), not
// of values.
package workshop

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/vmtest"
	"github.com/corebench/corebench/results"
)

func TestMain(m *testing.M) {
	st := m.Run()
	vmtest.Cleanup()
	os.Exit(st)
}

// lessonsScript runs the lessons' commands, each attack with --json into
// a file named for it. Lesson 1's open loops take -c 4 and 400%, not the
// lesson's 100 connections and 120%: on one emulated core many requests
// at once are served far slower than a few (-c 32 did an eighth of -c 1's
// req/s), so a probe of many connections finds a capacity the open loop
// beats, and 120% of it stayed under what the open loop was served; even
// at -c 4 the probe found half of it in one run (p50 17 ms at 80%, 19 ms
// at 150%), so past capacity is taken as 400%.
//
// serve removes the last server's output first: the shell may start the
// next one after ready has already read the old listening line there.
const lessonsScript = `
fail() { echo "@@fail $*"; tail -n 5 ./*.err 2>/dev/null; exit 1; }
s=""
serve() { stop; rm -f serve.out; bench serve "$@" >serve.out 2>serve.err & s=$!; ready serve.out || fail serve "$@"; }
stop() { [ -z "$s" ] || { kill -TERM $s; wait $s || fail serve exit; s=""; }; }
attack() { out=$1; shift; bench attack "$@" --json >$out.json 2>$out.err || fail attack $out; }

# 1. The single-core problem: the closed loop flattens, the open loop
# past capacity queues.
serve --model singlecore --cpus 1
attack l1-c1 http://127.0.0.1:8080/cpu -c 1 -d 3s --cpus 0
attack l1-c32 http://127.0.0.1:8080/cpu -c 32 -d 3s --cpus 0
attack l1-80 http://127.0.0.1:8080/cpu --rate 80% -c 4 -d 5s --cpus 0
attack l1-400 http://127.0.0.1:8080/cpu --rate 400% -c 4 -d 5s --cpus 0

# 2. rr deals connections, not requests.
serve --model prefork --sched rr --workers 2
attack l2-ka 'http://127.0.0.1:8080/io?ms=10' -c 3 -d 3s
attack l2-nka 'http://127.0.0.1:8080/io?ms=10' -c 3 -d 3s --no-keepalive

# 3. Per-process and shared counters.
serve --model prefork --workers 4
for p in counter counter counter counter counter counter/shared counter/shared counter/shared counter/shared counter/shared; do
  wget -qO- http://127.0.0.1:8080/$p >>l3-$(echo $p | tr / -).txt || fail wget $p
  echo >>l3-$(echo $p | tr / -).txt
done
bench ps >l3-ps.txt || fail ps
stop

# 4. A worker's crash against the one process's; 5. a reload.
bench scenario crash -d 3s --rate 200 --out l4-prefork >l4-prefork.txt 2>&1 || fail crash
bench scenario crash --model singlecore -d 3s --rate 200 --out l4-singlecore >l4-singlecore.txt 2>&1 || fail crash singlecore
bench scenario reload -d 3s --rate 200 --out l5-reload >l5-reload.txt 2>&1 || fail reload

# 8. The same stall in an open and a closed loop.
bench scenario stall --model singlecore -d 3s --rate 200 --out l8-open >l8-open.txt 2>&1 || fail stall
bench scenario stall --model singlecore -d 3s --closed --out l8-closed >l8-closed.txt 2>&1 || fail stall closed

# 10. One slow request on an event loop, and among goroutines.
bench scenario block --work 100ms --out l10-block >l10-block.txt 2>&1 || fail block

# 11. One process against a worker per CPU.
serve --model singlecore
attack l11-single http://127.0.0.1:8080/cpu -c 100 -d 4s
serve --model prefork --workers max
attack l11-max http://127.0.0.1:8080/cpu -c 100 -d 4s
stop
echo @@done
`

// attack is what the checks read of an attack's --json.
type attack struct {
	results.Summary
	Probe *struct {
		RPS float64 `json:"rps"`
	} `json:"probe"`
}

func readAttack(t *testing.T, dir, name string) *attack {
	t.Helper()
	a := readAttackFailing(t, dir, name)
	if a.Errors != 0 {
		t.Errorf("%s: %d requests, %d errors", name, a.Requests, a.Errors)
	}
	return a
}

// readAttackFailing reads an attack that may fail requests: one past
// capacity, whose queue outlasts the requests' timeout.
func readAttackFailing(t *testing.T, dir, name string) *attack {
	t.Helper()
	var a attack
	if err := json.Unmarshal([]byte(vmtest.File(t, dir, name+".json")), &a); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if a.Requests == 0 {
		t.Errorf("%s: no request", name)
	}
	return &a
}

func readScenario(t *testing.T, dir, name string) *results.Scenario {
	t.Helper()
	sc, err := results.LoadScenario(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, vmtest.File(t, dir, name+".txt"))
	}
	return sc
}

// shares returns each worker's share of an attack's requests.
func shares(a *attack) []float64 {
	var n int64
	for _, c := range a.PerWorker {
		n += c
	}
	var s []float64
	for _, c := range a.PerWorker {
		s = append(s, float64(c)/float64(n))
	}
	return s
}

func TestLessons4CPUs(t *testing.T) {
	lessons(t, vmtest.Shape{Sockets: 1, Cores: 4, Threads: 1})
}

// TestLessons16CPUs runs the same on 16 CPUs, two sockets and two NUMA
// nodes, the many-core test bed's shape. Under emulation on this 2-core
// host it takes several minutes beside CI's other VMs, so it runs when
// asked: COREBENCH_VM_LESSONS16=1 go test ./internal/vmtest/workshop.
func TestLessons16CPUs(t *testing.T) {
	if os.Getenv("COREBENCH_VM_LESSONS16") == "" {
		t.Skip("set COREBENCH_VM_LESSONS16=1 to run the lessons on 16 CPUs (several minutes under emulation)")
	}
	lessons(t, vmtest.Shape{Sockets: 2, Cores: 4, Threads: 2, Nodes: 2, MemoryMB: 4096})
}

// lessons runs the lessons on a VM of shape and checks each claim.
func lessons(t *testing.T, shape vmtest.Shape) {
	r := vmtest.Boot(t, shape, lessonsScript)
	if r.Status != 0 {
		t.Fatalf("the lessons: exit %d", r.Status)
	}
	d := r.Dir

	// Lesson 1: more connections add waiting, not throughput; the probe
	// finds the capacity the closed loop did; under it the open loop
	// keeps up, past it the queue grows for as long as the load lasts.
	c1, c32 := readAttack(t, d, "l1-c1"), readAttack(t, d, "l1-c32")
	if c32.Latency.Mean < 8*c1.Latency.Mean || c32.RPS > 2*c1.RPS {
		t.Errorf("lesson 1: -c 1 %.0f req/s mean %.1f ms, -c 32 %.0f req/s mean %.1f ms: want 32 connections to wait, not to serve 32 times as much", c1.RPS, c1.Latency.Mean, c32.RPS, c32.Latency.Mean)
	}
	under, over := readAttack(t, d, "l1-80"), readAttackFailing(t, d, "l1-400")
	for _, a := range []*attack{under, over} {
		if a.Probe == nil || a.Probe.RPS < c1.RPS/2 || a.Probe.RPS > 3*c1.RPS {
			t.Errorf("lesson 1: --rate %s's probe %+v against one connection's %.0f req/s", a.Rate, a.Probe, c1.RPS)
		}
	}
	// The cliff: 4× the p50 past capacity on 4 CPUs. 16 emulated CPUs on
	// this 2-core host each run about an eighth of the time, so the probe
	// is unsteady and 80% of it already queued a little (p50 856 ms against
	// 2,483 ms at 150% in one run): there, 2×.
	cliff := 4.0
	if shape.CPUs() > 4 {
		cliff = 2
	}
	if over.Latency.P50 < cliff*under.Latency.P50 {
		t.Errorf("lesson 1: no cliff: p50 %.1f ms at 80%%, %.1f ms at 400%%, want %g× or more", under.Latency.P50, over.Latency.P50, cliff)
	}

	// Lesson 2: 3 keep-alive connections split two to one, a connection
	// per request evenly.
	if s := shares(readAttack(t, d, "l2-ka")); len(s) != 2 || max(s[0], s[1]) < 0.6 || max(s[0], s[1]) > 0.73 {
		t.Errorf("lesson 2: keep-alive shares %v, want two connections to one", s)
	}
	if s := shares(readAttack(t, d, "l2-nka")); len(s) != 2 || max(s[0], s[1]) > 0.6 {
		t.Errorf("lesson 2: --no-keepalive shares %v, want near even", s)
	}

	// Lesson 3: five new connections over four workers read 1, 1, 1, 1,
	// 2 of their own counters; the master's counts 1 to 5.
	values := func(name string) string {
		var v []string
		for _, l := range strings.Fields(vmtest.File(t, d, name)) {
			var c struct{ Value int }
			json.Unmarshal([]byte(l), &c)
			v = append(v, string(rune('0'+c.Value)))
		}
		return strings.Join(v, " ")
	}
	if got := values("l3-counter.txt"); got != "1 1 1 1 2" {
		t.Errorf("lesson 3: /counter read %s, want 1 1 1 1 2", got)
	}
	if got := values("l3-counter-shared.txt"); got != "1 2 3 4 5" {
		t.Errorf("lesson 3: /counter/shared read %s, want 1 2 3 4 5", got)
	}

	// Lesson 4: a worker's crash fails few requests, the one process's
	// every request until it is back; lesson 5: a reload fails none.
	pre, single := readScenario(t, d, "l4-prefork"), readScenario(t, d, "l4-singlecore")
	if pre.Failed > pre.Conns+pre.InFlight+2 || single.Failed < 10*max(pre.Failed, 1) {
		t.Errorf("lesson 4: prefork failed %d of %d (it had %d connections), singlecore %d of %d", pre.Failed, pre.Sent, pre.Conns, single.Failed, single.Sent)
	}
	if rl := readScenario(t, d, "l5-reload"); rl.Failed != 0 || rl.Sent == 0 {
		t.Errorf("lesson 5: the reload failed %d of %d", rl.Failed, rl.Sent)
	}

	// Lesson 8: the open loop counts every request due during the stall,
	// the closed loop one per connection. Its p90, not the lesson's p99:
	// an emulated closed loop sends so few requests that its 16 stalled
	// ones are over 1% of them.
	open, closed := readScenario(t, d, "l8-open"), readScenario(t, d, "l8-closed")
	if open.Load == nil || closed.Load == nil || open.Load.Latency.P90 < 2*closed.Load.Latency.P90 {
		t.Errorf("lesson 8: the stall's p90: open %v ms, closed %v ms: want the open loop's far above", open.Load.Latency.P90, closed.Load.Latency.P90)
	}

	// Lesson 10: on the event loop every cheap request due during the
	// slow one waits to its end; among goroutines on more than one
	// thread, few do.
	blk := readScenario(t, d, "l10-block").Block
	if blk == nil {
		t.Fatal("lesson 10: no block result")
	}
	runs := map[string]results.BlockRun{}
	for _, b := range blk.Runs {
		runs[b.Setup] = b
	}
	loop, gor := runs["singlecore, event loop"], runs["goroutines"]
	held := func(b results.BlockRun) float64 { return float64(b.AfterEnd) / float64(max(b.Due, 1)) }
	if loop.Due == 0 || held(loop) < 0.75 {
		t.Errorf("lesson 10: event loop held %d of %d: want nearly every request due during the slow one", loop.AfterEnd, loop.Due)
	}
	// Among goroutines few wait, where the emulated CPUs are few. 16 of
	// them on this 2-core host each run about an eighth of the time, and
	// the slow request's goroutine then holds up the others as much or
	// more (96 of 242 held in one run, 222 of 239 in the next): no shape
	// to check there, only the figures to log.
	if shape.CPUs() > 4 {
		t.Logf("lesson 10 on %d emulated CPUs: goroutines held %d of %d (p50 %.1f ms), the event loop %d of %d (p50 %.1f ms)",
			shape.CPUs(), gor.AfterEnd, gor.Due, gor.P50, loop.AfterEnd, loop.Due, loop.P50)
	} else if held(gor) >= held(loop) || gor.P50 >= loop.P50 {
		// Fewer held, and sooner: not "few" or "half the wait", as 4
		// emulated CPUs beside another VM test held 206 of 300 once.
		t.Errorf("lesson 10: event loop held %d of %d (p50 %.1f ms), goroutines %d of %d (p50 %.1f ms)", loop.AfterEnd, loop.Due, loop.P50, gor.AfterEnd, gor.Due, gor.P50)
	}

	// Lesson 11: a worker per CPU, every one serving. Not that they serve
	// more than one process: four emulated CPUs on a host of two, beside
	// the generator, did not (37 against 52 req/s in one run).
	if all := readAttack(t, d, "l11-max"); len(all.PerWorker) != shape.CPUs() {
		t.Errorf("lesson 11: prefork --workers max: %d workers answered, want %d", len(all.PerWorker), shape.CPUs())
	}
	readAttack(t, d, "l11-single")
}
