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

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/scenario"
)

// The scenarios themselves are tested in the scenario package, against
// servers of their own; these tests are of what the command adds: its
// flags, its usage errors, its output and files, Ctrl-C.

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

// TestScenarioSmoke: the whole path once, as a user runs it: the flags
// to the scenario, its server and load, the result printed as JSON and
// written with its chart, nothing left running (scenarioJSON checks).
func TestScenarioSmoke(t *testing.T) {
	r, files := scenarioJSON(t, "stall", "--model", "singlecore", "--rate", "200", "-d", "1s", "--stall", "200ms")
	if r.Scenario != "stall" || r.Model != "singlecore" || r.Workers != 1 || r.Rate != 200 || r.Path != scenario.DefaultPath || r.Sent == 0 {
		t.Errorf("%s of %s, %d workers, %v req/s on %s, sent %d", r.Scenario, r.Model, r.Workers, r.Rate, r.Path, r.Sent)
	}
	if len(r.Actions) != 1 || r.Actions[0].Label != "server stopped for 200ms" || r.Load.Latency.Max < 180 {
		t.Errorf("actions %+v, max %v ms", r.Actions, r.Load.Latency.Max)
	}
	if strings.Join(files, " ") != "result.json timeline.png timeline.svg" {
		t.Errorf("files %v", files)
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

// TestScenarioUsage: a mistake on the command line is one line on stderr
// and status 2, before any server starts.
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
