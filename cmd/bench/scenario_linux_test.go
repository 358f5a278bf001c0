package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/corebench/corebench/internal/redistest"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/scenario"
	"github.com/corebench/corebench/stats"
)

// scenarioJSON runs bench scenario with args at a small scale and returns
// its result, and the files it wrote.
func scenarioJSON(t *testing.T, args ...string) (*results.Scenario, []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args = append([]string{"scenario"}, append(args, "--json", "--out", out)...)
	before := leftovers(t)
	st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
	if st != 0 {
		t.Fatalf("bench %s: status %d\n%s", strings.Join(args, " "), st, stderr)
	}
	var r results.Scenario
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v in %q", err, stdout)
	}
	var files []string
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if left := leftovers(t); len(left) > len(before) {
		t.Errorf("processes left behind: %v (before the command: %v)", left, before)
	}
	return &r, files
}

// small is the load of the scenario tests: enough requests in flight to
// matter, short enough for a test.
var small = []string{"--rate", "400", "-d", "2s", "--workers", "4"}

// TestScenarioReloadAndScale: a rolling reload and scaling 2 -> 8 -> 2
// under load fail no request, under every scheduling policy.
func TestScenarioReloadAndScale(t *testing.T) {
	for _, model := range []string{"prefork-rr", "prefork-os", "prefork-reuseport"} {
		t.Run("reload/"+model, func(t *testing.T) {
			r, files := scenarioJSON(t, append([]string{"reload", "--model", model}, small...)...)
			if r.Failed != 0 || r.Sent < 700 || len(r.Actions) != 1 || r.Actions[0].Label != "rolling reload" {
				t.Errorf("sent %d, failed %d %v, actions %+v", r.Sent, r.Failed, r.ErrorKinds, r.Actions)
			}
			if r.Load.Workers != 4 || r.Load.Fairness != stats.Jain(r.Load.PerWorker, 4) {
				t.Errorf("load over workers %d, fairness %v of %v; want over the 4 the server runs", r.Load.Workers, r.Load.Fairness, r.Load.PerWorker)
			}
			if strings.Join(files, " ") != "result.json timeline.png timeline.svg" {
				t.Errorf("files %v", files)
			}
		})
	}
	for _, model := range []string{"prefork-rr", "prefork-reuseport"} {
		t.Run("scale/"+model, func(t *testing.T) {
			r, _ := scenarioJSON(t, "scale", "--model", model, "--rate", "400", "-d", "3s")
			if r.Failed != 0 || len(r.Actions) != 2 || r.Workers != 2 {
				t.Errorf("sent %d, failed %d %v, actions %+v", r.Sent, r.Failed, r.ErrorKinds, r.Actions)
			}
		})
	}
}

// TestScenarioCrash: killing a prefork worker fails at most the requests
// on its connections, and its slot comes back; killing a one-process
// server fails everything until it is restarted.
func TestScenarioCrash(t *testing.T) {
	r, _ := scenarioJSON(t, append([]string{"crash"}, small...)...)
	// At most one request per connection the killed worker held. (Its
	// in-flight count, read just before the kill, is not a bound on a
	// busy machine: requests keep arriving until the kill lands.)
	if r.Failed > r.Conns || r.Failed > r.Sent/20 {
		t.Errorf("prefork-rr: %d failed of %d; the killed worker had %d requests in flight on %d connections", r.Failed, r.Sent, r.InFlight, r.Conns)
	}
	if len(r.Actions) != 1 || r.Actions[0].Done-r.Actions[0].At > 1 {
		t.Errorf("the slot was not back within a second: %+v", r.Actions)
	}
	if r.Recovered < 0 || r.Recovered > 1 {
		t.Errorf("prefork-rr recovered after %v s", r.Recovered)
	}

	r, _ = scenarioJSON(t, "crash", "--model", "singlecore", "--rate", "400", "-d", "2s", "--restart", "300ms")
	if r.ErrorKinds["refused"] == 0 || r.Failed < 400*3/10/2 {
		t.Errorf("singlecore: %d failed %v, want the outage's requests refused", r.Failed, r.ErrorKinds)
	}
	if len(r.Actions) != 2 || r.Recovered < 0.3 {
		t.Errorf("singlecore: actions %+v, recovered after %v s", r.Actions, r.Recovered)
	}
}

// TestScenarioCrashCost: a crash near capacity reports its restart time,
// which a worker that takes 300 ms to load cannot beat, and what it served
// meanwhile; the load was sized from the capacity it measured.
func TestScenarioCrashCost(t *testing.T) {
	r, _ := scenarioJSON(t, "crash", "--workers", "2", "--path", "/cpu", "--share", "0.5", "--startup", "300ms", "-d", "2s")
	if r.Capacity <= 0 || r.Share != 0.5 || r.Rate != r.Capacity/2 {
		t.Errorf("capacity %v, share %v, rate %v", r.Capacity, r.Share, r.Rate)
	}
	if r.RestartMs < 300 || r.ServedBefore <= 0 || len(r.Actions) != 1 {
		t.Errorf("restart %v ms (the worker loads for 300 ms), served %v before and %v during, actions %+v", r.RestartMs, r.ServedBefore, r.ServedDuring, r.Actions)
	}
}

// TestScenarioCrashloop: workers that die soon after they start are
// restarted with a doubling delay, and given up on after --max-restarts
// unstable restarts: every slot errored, by the master's events.
func TestScenarioCrashloop(t *testing.T) {
	r, _ := scenarioJSON(t, "crashloop", "--workers", "2", "--max-restarts", "2", "--exit-after", "100ms", "--rate", "200", "-d", "2s")
	crashed, errored := map[int]int{}, map[int]bool{}
	delays := map[int][]float64{}
	for _, e := range r.Events {
		switch e.Kind {
		case "crashed":
			crashed[e.Slot]++
		case "restarting":
			delays[e.Slot] = append(delays[e.Slot], e.DelayMs)
		case "errored":
			errored[e.Slot] = true
		}
	}
	for slot := range 2 {
		if crashed[slot] != 3 || !errored[slot] || len(delays[slot]) != 2 || delays[slot][1] != 2*delays[slot][0] {
			t.Errorf("slot %d: crashed %d times, delays %v, errored %v; want 3 crashes, 2 doubling delays, errored", slot, crashed[slot], delays[slot], errored[slot])
		}
	}
	if r.Failed == 0 {
		t.Errorf("nothing failed with every slot errored")
	}
}

// TestScenarioSizing: max and max-1 workers are measured, the neighbour
// beside the two runs that have it, and only there.
func TestScenarioSizing(t *testing.T) {
	r, files := scenarioJSON(t, "sizing", "-d", "1s", "-c", "8")
	sz := r.Sizing
	if sz == nil || len(sz.Runs) != 3 || sz.NeighborQPS <= 0 || sz.NeighborCPU < 1 {
		t.Fatalf("sizing %+v", sz)
	}
	for i, run := range sz.Runs {
		want := sz.CPUs
		if i == 2 {
			want = sz.CPUs - 1
		}
		if run.Workers != want || run.RPS <= 0 || run.Neighbor != (i > 0) || (run.NeighborQPS > 0) != run.Neighbor {
			t.Errorf("%s: %+v, want %d workers", run.Setup, run, want)
		}
	}
	if strings.Join(files, " ") != "app.png app.svg neighbor.png neighbor.svg result.json" {
		t.Errorf("files %v", files)
	}
}

// TestScenarioState: per-process counters share the count, the master's
// counts all; sessions in worker memory break under rr and hold under
// sticky and in Redis.
func TestScenarioState(t *testing.T) {
	url := redistest.Start(t)
	r, files := scenarioJSON(t, "state", "--requests", "200", "--users", "12", "-d", "1s", "--state", url)
	st := r.State
	var sum int64
	for _, w := range st.PerProcess {
		sum += w.Count
		if w.Count != 50 {
			t.Errorf("worker %d counted %d of 200 over 4 rr workers, want 50", w.Slot, w.Count)
		}
	}
	if len(st.PerProcess) != 4 || sum != 200 {
		t.Errorf("per-process counters %+v", st.PerProcess)
	}
	if st.Shared != 200 || st.Store != 200 {
		t.Errorf("shared counter %d, in the store %d; want 200", st.Shared, st.Store)
	}
	want := map[string]int{"rr, sessions in worker memory": 12, "sticky, sessions in worker memory": 48, "rr, sessions in the store": 48}
	for _, s := range st.Sessions {
		if s.Lookups != 48 || s.Found != want[s.Setup] {
			t.Errorf("%s: found %d of %d, want %d", s.Setup, s.Found, s.Lookups, want[s.Setup])
		}
	}
	if len(st.Sessions) != 3 || len(st.Costs) != 3 {
		t.Errorf("sessions %+v, costs %+v", st.Sessions, st.Costs)
	}
	for _, c := range st.Costs {
		if c.RPS <= 0 {
			t.Errorf("cost %+v", c)
		}
	}
	if strings.Join(files, " ") != "counter-cost.png counter-cost.svg counters.png counters.svg result.json sessions.png sessions.svg" {
		t.Errorf("files %v", files)
	}
}

// TestScenarioStall: a stopped server shows in an open loop's p99, and
// hides from a closed loop's, which sends nothing while it waits; both
// see it in their maximum.
func TestScenarioStall(t *testing.T) {
	const stallMs = 300
	open, files := scenarioJSON(t, "stall", "--model", "singlecore", "--rate", "400", "-d", "2s", "--stall", "300ms")
	if strings.Join(files, " ") != "result.json timeline.png timeline.svg" {
		t.Errorf("files %v", files)
	}
	// 120 of 800 requests were due during the stall: the p99 waited for it.
	if l := open.Load.Latency; l.P99 < stallMs/2 || l.Max < stallMs*0.9 || open.Failed != 0 || open.Rate != 400 {
		t.Errorf("open loop: p99 %.1f ms, max %.1f ms, %d failed, rate %v", l.P99, l.Max, open.Failed, open.Rate)
	}
	closed, _ := scenarioJSON(t, "stall", "--model", "singlecore", "--closed", "-c", "4", "-d", "2s", "--stall", "300ms")
	if l := closed.Load.Latency; l.P99 > stallMs/3 || l.Max < stallMs*0.9 || closed.Failed != 0 {
		t.Errorf("closed loop of 4: p99 %.1f ms, max %.1f ms, %d failed; want the p99 to hide the stall", l.P99, l.Max, closed.Failed)
	}
	if closed.Rate != 0 || closed.Connections != 4 || closed.Load.Mode != "closed" {
		t.Errorf("closed loop: rate %v, connections %d, mode %s", closed.Rate, closed.Connections, closed.Load.Mode)
	}
}

// TestScenarioBlock: on an event loop the slow request holds up every
// cheap request due while it runs, each answered after it; preempted
// (goroutines) they go on; every request is accounted for.
func TestScenarioBlock(t *testing.T) {
	r, files := scenarioJSON(t, "block", "--rate", "200", "-d", "1500ms", "--at", "500ms", "--work", "150ms", "--workers", "2")
	b := r.Block
	if b == nil || len(b.Runs) != 4 || b.Iters <= 0 || b.CalibIters == 0 {
		t.Fatalf("block result %+v", b)
	}
	if strings.Join(files, " ") != "result.json timeline.png timeline.svg" {
		t.Errorf("files %v", files)
	}
	byName := map[string]results.BlockRun{}
	var sent int64
	for _, run := range b.Runs {
		byName[run.Setup] = run
		sent += int64(run.Sent)
		if run.Sent != 300 || run.Failed != 0 || run.SlowError != "" || run.Due == 0 || len(run.Requests) != run.Sent {
			t.Errorf("%s: sent %d, failed %d, slow %q, due %d, %d samples", run.Setup, run.Sent, run.Failed, run.SlowError, run.Due, len(run.Requests))
		}
		if run.BlockEnd <= run.BlockAt || run.AfterEnd > run.Due || run.Over > run.Due {
			t.Errorf("%s: block %v to %v, %d due, %d after, %d over", run.Setup, run.BlockAt, run.BlockEnd, run.Due, run.AfterEnd, run.Over)
		}
	}
	if r.Sent != sent {
		t.Errorf("sent %d in all, runs add up to %d", r.Sent, sent)
	}
	loop, free := byName["singlecore, event loop"], byName["goroutines"]
	// The loop writes the slow answer before it takes the next request,
	// so the cheap ones due meanwhile come with it or after; a few may
	// have reached the loop before it did.
	if loop.AfterEnd*10 < loop.Due*8 {
		t.Errorf("event loop: %d of %d cheap requests due during the slow one held to its end; want nearly all", loop.AfterEnd, loop.Due)
	}
	if free.AfterEnd*2 > free.Due {
		t.Errorf("goroutines: %d of %d cheap requests due during the slow one held to its end; want few", free.AfterEnd, free.Due)
	}
}

// parseScenario returns the scenario bench scenario makes of args, or its
// usage error.
func parseScenario(t *testing.T, args ...string) (scenario.Scenario, error) {
	t.Helper()
	var f scenarioFlags
	fs := pflag.NewFlagSet("scenario", pflag.ContinueOnError)
	f.define(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return f.scenario(fs, false)
}

// TestScenarioFlags: no flag given leaves every option of the scenario at
// zero, for the scenario package's defaults to decide; every flag a
// scenario takes reaches its value, and every other is refused in one
// line that names the flag, the scenarios that take it and this one.
func TestScenarioFlags(t *testing.T) {
	sample := map[string]string{
		"model": "prefork-os", "server": "x=some command", "ready": "x=ready", "workers": "3", "rate": "100", "path": "/x",
		"duration": "5s", "at": "1s", "crash": "request", "restart": "2s", "no-handover": "true", "no-keepalive": "true",
		"closed": "true", "connections": "3", "stall": "1s", "state": "redis://127.0.0.1:1", "requests": "5", "users": "5",
		"overlay": "dir", "work": "1s", "iters": "1000", "threshold": "1s", "share": "0.5", "startup": "1s",
		"exit-after": "1s", "min-uptime": "1s", "max-restarts": "2",
	}
	var names []string
	fs := pflag.NewFlagSet("scenario", pflag.ContinueOnError)
	new(scenarioFlags).define(fs)
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "out" && fl.Name != "json" {
			names = append(names, fl.Name)
		}
	})
	for _, s := range scenario.All() {
		got, err := parseScenario(t, s.Name())
		if err != nil || !reflect.ValueOf(got).IsZero() || reflect.TypeOf(got) != reflect.TypeOf(s) {
			t.Errorf("bench scenario %s: %#v, %v; want every option zero", s.Name(), got, err)
		}
		for _, name := range names {
			value, ok := sample[name]
			if !ok {
				t.Fatalf("no sample value for --%s", name)
			}
			base, args := []string{s.Name()}, []string{s.Name(), "--" + name + "=" + value}
			if name == "ready" { // with --server, which it is about
				base, args = append(base, "--server="+sample["server"]), append(args, "--server="+sample["server"])
			}
			got, err := parseScenario(t, args...)
			switch {
			case (name == "server" || name == "ready") && s.OwnServersOnly():
				if err == nil || !strings.Contains(err.Error(), "drives servers bench starts itself") {
					t.Errorf("%v: %v, want the server refused", args, err)
				}
			case !takes(s, name):
				want := regexp.MustCompile(`^--` + name + ` is for the [a-z, ]+ scenarios?, not ` + s.Name() + `$`)
				if err == nil || !errors.As(err, new(usageError)) || !want.MatchString(err.Error()) {
					t.Errorf("%v: %v, want refused", args, err)
				}
			case name == "overlay": // the CLI's, read before the run
				if err != nil || !reflect.ValueOf(got).IsZero() {
					t.Errorf("%v: %#v, %v", args, got, err)
				}
			default:
				before, _ := parseScenario(t, base...)
				if err != nil || reflect.DeepEqual(got, before) {
					t.Errorf("%v: %#v, %v; --%s does not reach the scenario", args, got, err, name)
				}
			}
		}
	}
	// The help says which scenarios take a flag that few do.
	if u := fs.Lookup("exit-after").Usage; !strings.HasPrefix(u, "crashloop: ") || !strings.HasSuffix(u, "(default: 300ms)") {
		t.Errorf("--exit-after: %q", u)
	}
}

func TestScenarioUsage(t *testing.T) {
	for _, args := range [][]string{
		{"scenario"}, {"scenario", "explode"}, {"scenario", "reload", "--model", "singlecore"},
		{"scenario", "crash", "--crash", "gently"}, {"scenario", "crash", "--rate", "0"},
		{"scenario", "crash", "-d", "2s", "--at", "3s"}, {"scenario", "stall", "--stall", "0"},
		{"scenario", "stall", "--closed", "-c", "0"},
		{"scenario", "crashloop", "--model", "singlecore"}, {"scenario", "crash", "--share", "-1"},
		{"scenario", "block", "--iters", "-1"}, {"scenario", "block", "--iters", "20000000"}, {"scenario", "block", "--work", "0s"},
		{"scenario", "state", "--users", "70000"}, {"scenario", "crashloop", "--at", "1s"}, {"scenario", "sizing", "--workers", "2"},
		{"scenario", "crash", "--out", "/proc/self/foo"}, // refused before the load, not after it
	} {
		st, _, stderr := modeltest.RunToExit(t, bench(args...))
		if st != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("bench %s: status %d, %q", strings.Join(args, " "), st, stderr)
		}
	}
}

// TestScenarioInterrupted: Ctrl-C during a scenario's load stops it as it
// stops bench run: the summary, result.json and the chart are marked
// interrupted, the last line says after how long of how long, and the
// status is bench run's (1). It printed a full summary "for 2 s", wrote
// an unmarked result.json and ended "bench scenario: context canceled".
func TestScenarioInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	s := modeltest.StartCommand(t, bench("scenario", "crash", "--rate", "400", "-d", "6s", "--at", "1s", "--workers", "2", "--out", out))
	s.WaitLog(regexp.MustCompile(`SIGKILL worker`), 0, 60*time.Second)
	s.Signal(syscall.SIGINT)
	if st := s.Wait(30 * time.Second); st != 1 {
		t.Errorf("exit status %d after Ctrl-C, want 1 as bench run's", st)
	}
	stderr := s.Stderr()
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	if !regexp.MustCompile(`^bench scenario: interrupted after \d+\.\d s of 6 s: what was measured is in .*, marked interrupted\n?$`).MatchString(last) ||
		strings.Contains(stderr, "context canceled") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(s.Stdout(), "INTERRUPTED after ") {
		t.Errorf("the summary does not say it was interrupted:\n%s", s.Stdout())
	}
	r, err := results.LoadScenario(out)
	if err != nil {
		t.Fatal(err)
	}
	if in := r.Interrupted; in == nil || in.OfS != 6 || len(r.Actions) != 1 || in.AfterS < r.Actions[0].Done || in.AfterS >= 6 {
		t.Errorf("result.json: interrupted %+v, actions %+v; want marked, after the kill at 1 s and before 6 s", in, r.Actions)
	}
	svg, err := os.ReadFile(filepath.Join(out, "timeline.svg"))
	if err != nil || !strings.Contains(string(svg), "INTERRUPTED after ") {
		t.Errorf("timeline.svg not marked interrupted (%v)", err)
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
