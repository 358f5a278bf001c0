package assess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// closedIdle is a closed-loop case where nothing ran out: every test
// below moves one figure from it.
var closedIdle = Measures{Mode: results.ModeClosed, Workload: "hello", RPS: 20000, P50Ms: 0.2, ServerCores: 2, MasterCores: -1,
	Allotted: 8, CPUBusy: 0.3, LoadgenCores: 1}

func TestLimitOf(t *testing.T) {
	with := func(f func(*Measures)) Measures {
		m := closedIdle
		f(&m)
		return m
	}
	tests := []struct {
		name string
		m    Measures
		want results.Limit
		why  string // a fragment of the reason
	}{
		{"failures beat everything", with(func(m *Measures) { m.FailedShare, m.Saturated, m.ServerCores = 0.2, true, 8 }), results.LimitFailures, "20.0% of requests failed"},
		{"one percent failed is not yet failures", with(func(m *Measures) { m.FailedShare, m.ServerCores = 0.01, 8 }), results.LimitServer, ""},
		{"generator saturated", with(func(m *Measures) { m.Saturated, m.ServerCores = true, 8 }), results.LimitGenerator, "saturated"},
		{"open loop kept up", with(func(m *Measures) { m.Mode, m.Rate, m.RPS = results.ModeOpen, 10000, 9990 }), results.LimitRate, "9990 of the 10000 req/s"},
		{"open loop behind on a full server", with(func(m *Measures) {
			m.Mode, m.Rate, m.RPS, m.ConnBusy, m.ServerCores = results.ModeOpen, 10000, 9990, 0.3, 7.5
		}), results.LimitServer, ""},
		{"open loop short of the rate", with(func(m *Measures) { m.Mode, m.Rate, m.RPS, m.ServerCores = results.ModeOpen, 10000, 8000, 7.5 }), results.LimitServer, ""},
		{"master at a core, workers idle", with(func(m *Measures) { m.MasterCores, m.ServerCores, m.Workers = 0.97, 3, 8 }), results.LimitMaster, "master used 0.97 cores"},
		{"master at a core, workers full too", with(func(m *Measures) { m.MasterCores, m.ServerCores, m.Workers, m.Allotted = 0.97, 8.5, 8, 8 }), results.LimitServer, ""},
		{"master light", with(func(m *Measures) { m.MasterCores, m.ServerCores, m.Workers = 0.2, 7.5, 8 }), results.LimitServer, "7.50 of its 8.00"},
		{"server cores at 85%", with(func(m *Measures) { m.ServerCores = 6.8 }), results.LimitServer, "(85%)"},
		{"server cores just under", with(func(m *Measures) { m.ServerCores = 6.7 }), results.LimitConnections, ""},
		{"shared and busy", with(func(m *Measures) { m.Shared, m.CPUBusy, m.Allotted, m.ServerCores = true, 0.97, 2, 1.3 }), results.LimitShared, "97% busy"},
		{"shared, server has its cores", with(func(m *Measures) { m.Shared, m.CPUBusy, m.Allotted, m.ServerCores = true, 0.99, 1, 0.95 }), results.LimitServer, ""},
		{"shared but idle", with(func(m *Measures) { m.Shared, m.CPUBusy, m.Allotted, m.ServerCores = true, 0.5, 2, 0.6 }), results.LimitConnections, ""},
		{"shared, busy not measured", with(func(m *Measures) { m.Shared, m.CPUBusy, m.Allotted, m.ServerCores = true, -1, 2, 0.6 }), results.LimitConnections, ""},
		{"io waits", with(func(m *Measures) { m.Workload, m.P50Ms = "io", 10.5 }), results.LimitWait, "waits by design"},
		{"io on full cores is the cores", with(func(m *Measures) { m.Workload, m.ServerCores = "io", 7 }), results.LimitServer, ""},
		{"closed, idle, fast: connections", closedIdle, results.LimitConnections, "p50 0.20 ms"},
		{"closed, idle, slow: unknown", with(func(m *Measures) { m.P50Ms = 40 }), results.LimitUnknown, "not measured"},
		{"server CPU not measured", with(func(m *Measures) { m.ServerCores = 0 }), results.LimitUnknown, "not measured"},
		{"open, behind, idle: unknown", with(func(m *Measures) { m.Mode, m.Rate, m.RPS, m.ConnBusy = results.ModeOpen, 10000, 5000, 0.5 }), results.LimitUnknown, ""},
	}
	seen := map[results.Limit]bool{}
	for _, tt := range tests {
		got, why := LimitOf(tt.m)
		seen[got] = true
		if got != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("%s: %s (%s), want %s with %q", tt.name, got, why, tt.want, tt.why)
		}
	}
	for _, l := range Limits {
		if !seen[l] {
			t.Errorf("no test case is limited by %s", l)
		}
	}
}

// A case as an older bench wrote it, without server CPUs or master
// figures: singlecore is allotted the placement's first CPU, and the
// busy share is of that CPU alone.
func TestMeasuresOfOldCase(t *testing.T) {
	rep := func(srv float64, busy []float64) results.Repeat {
		return results.Repeat{ServerCPU: srv, Load: results.Summary{Requests: 1000, RPS: 1000, DurationS: 3, LoadgenCores: 0.6, MachineCPU: busy}}
	}
	c := results.Case{Model: "singlecore", Workers: 1, Workload: "hello", Mode: results.ModeClosed,
		Repeats: []results.Repeat{rep(2.55, []float64{0.97, 0.6}), rep(2.4, []float64{0.99, 0.6})}}
	stats.Summarize(&c)
	p := results.Placement{ServerCPUs: []int{0, 1}, LoadgenCPUs: []int{0, 1}, Shared: true}
	m := MeasuresOf(&c, p)
	if m.Allotted != 1 || m.MasterCores != -1 || m.CPUBusy != 0.98 || m.ServerCores != (2.55+2.4)/2/3 {
		t.Errorf("measures %+v: want 1 core allotted, master unmeasured, CPU 0 98%% busy, 0.825 server cores", m)
	}
	Case(&c, p, results.Env{})
	if c.Summary.LimitedBy != results.LimitShared {
		t.Errorf("limited by %s (%s), want shared_cores: CPU 0 was full, the server had 82%% of it", c.Summary.LimitedBy, c.Summary.LimitedWhy)
	}
	// Goroutines with 2 workers on 4 CPUs has 2 cores; with 8, the 4 CPUs.
	for workers, want := range map[int]float64{2: 2, 8: 4} {
		g := results.Case{Model: "goroutines", Workers: workers, Summary: &results.CaseSummary{}}
		if got := MeasuresOf(&g, results.Placement{ServerCPUs: []int{0, 1, 2, 3}}).Allotted; got != want {
			t.Errorf("goroutines w%d on 4 CPUs: %v cores allotted, want %v", workers, got, want)
		}
	}
}

func TestNoiseWarnings(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	caseOf := func(other, steal *float64, wall float64) *results.Case {
		return &results.Case{Repeats: []results.Repeat{{WallS: wall, OtherCPU: other, StealCPU: steal}}}
	}
	tests := []struct {
		name  string
		noise results.Noise
		c     *results.Case
		want  []string // fragments, one per warning, in order
	}{
		{"quiet performance box", results.Noise{Governor: "performance"}, caseOf(f(0.1), f(0), 3), nil},
		{"governor not exposed", results.Noise{Governor: results.NotExposed}, caseOf(nil, nil, 3), nil},
		{"old results", results.Noise{}, caseOf(nil, nil, 0), nil},
		{"powersave", results.Noise{Governor: "powersave"}, caseOf(nil, nil, 3), []string{"governor powersave"}},
		// On 2 CPUs over 3 s, the ticks explain up to 0.1·√6 = 0.245 s.
		{"others over 5%", results.Noise{Governor: "performance"}, caseOf(f(0.3), nil, 3), []string{"other processes took up to 0.10"}},
		{"others at 5% exactly", results.Noise{}, caseOf(f(0.15), nil, 3), nil},
		{"over 5% but within the ticks' error", results.Noise{}, caseOf(f(0.24), nil, 3), nil},
		{"steal", results.Noise{Governor: "schedutil"}, caseOf(f(0), f(0.6), 3), []string{"schedutil", "steal time"}},
	}
	for _, tt := range tests {
		got := NoiseWarnings(tt.noise, 2, tt.c)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %q, want %d warnings", tt.name, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %q, want %q in it", tt.name, got[i], w)
			}
		}
	}
}

// Run derives limited_by for a file written before it existed, and
// keeps what a file recorded; Load alone reads the file as written.
func TestRunDerivesLimit(t *testing.T) {
	var h results.Histogram
	for i := int64(1); i <= 100; i++ {
		h.Record(i * int64(time.Millisecond) / 10)
	}
	c := results.Case{ID: "singlecore/hello/closed-c100/w1", Sweep: "models", Model: "singlecore", Workers: 1, Workload: "hello", Path: "/", Mode: "closed", Connections: 100, KeepAlive: true}
	for _, rps := range []float64{900, 1100, 1000} {
		c.Repeats = append(c.Repeats, results.Repeat{Load: results.Summary{Requests: int64(rps), RPS: rps, DurationS: 1, Latency: stats.LatencyOf(&h), Histogram: &h, PerWorker: map[string]int64{"0": int64(rps)}, Fairness: 1}, ServerCPU: rps * 20e-6})
	}
	stats.Summarize(&c)
	r := &results.Run{ID: "test", Started: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Complete: true, Cases: []results.Case{c, c}}
	r.Cases[1].ID = "recorded"
	s := *r.Cases[1].Summary
	s.LimitedBy, s.LimitedWhy = results.LimitMaster, "as measured"
	r.Cases[1].Summary = &s
	dir := t.TempDir()
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, results.FileName))
	if strings.Count(string(b), `"limited_by": ""`) != 1 {
		t.Fatalf("want one case saved without limited_by, as an older bench wrote it")
	}
	got, err := results.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l := got.Cases[0].Summary.LimitedBy; l != "" {
		t.Errorf("Load derived limited_by %q: it reads the file as written", l)
	}
	Run(got)
	if l := got.Cases[0].Summary.LimitedBy; l == "" {
		t.Errorf("limited_by not derived by Run")
	}
	if l := got.Cases[1].Summary.LimitedBy; l != results.LimitMaster {
		t.Errorf("recorded limited_by %q replaced by Run", l)
	}
}
