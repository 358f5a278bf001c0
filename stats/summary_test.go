package stats

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// sampleCase is a case measured three times: 900, 1100 and 1000 req/s,
// the same 100 latencies each time.
func sampleCase() results.Case {
	var h results.Histogram
	for i := int64(1); i <= 100; i++ {
		h.Record(i * int64(time.Millisecond) / 10)
	}
	c := results.Case{ID: "singlecore/hello/closed-c100/w1", Sweep: "models", Model: "singlecore", Workers: 1, Workload: "hello", Path: "/", Mode: "closed", Connections: 100, KeepAlive: true}
	for _, rps := range []float64{900, 1100, 1000} {
		c.Repeats = append(c.Repeats, results.Repeat{Load: results.Summary{Requests: int64(rps), RPS: rps, Latency: LatencyOf(&h), Histogram: &h, PerWorker: map[string]int64{"0": int64(rps)}, Fairness: 1}, ServerCPU: rps * 20e-6})
	}
	Summarize(&c)
	return c
}

func TestSummarize(t *testing.T) {
	s := sampleCase().Summary
	if s.RPS != (results.Spread{Median: 1000, Min: 900, Max: 1100, N: 3}) {
		t.Errorf("rps spread %+v", s.RPS)
	}
	if s.Requests != 3000 || s.PerWorker["0"] != 3000 || s.Histogram.Count() != 300 {
		t.Errorf("sums: %d requests, %v per worker, %d in the merged histogram", s.Requests, s.PerWorker, s.Histogram.Count())
	}
	if m := s.ServerCPUPerReq.Median; m < 19.999 || m > 20.001 {
		t.Errorf("server CPU per request %v µs, want 20", s.ServerCPUPerReq.Median)
	}
}

func TestSummarizeCores(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	c := results.Case{Model: "prefork-rr", Workers: 4, Repeats: []results.Repeat{
		{ServerCPU: 8, WallS: 2, MasterCPU: f(1.9), OtherCPU: f(0.2), Load: results.Summary{Requests: 10, RPS: 5, DurationS: 1.9}},
		{ServerCPU: 6, WallS: 2, MasterCPU: f(1.7), Load: results.Summary{Requests: 10, RPS: 5, DurationS: 1.9}},
		// A remote server whose reading failed: its 0 is not a figure.
		{ServerUnmeasured: "reading the server host: ssh died", WallS: 2, Load: results.Summary{Requests: 10, RPS: 5, DurationS: 1.9}},
	}}
	Summarize(&c)
	s := c.Summary
	if s.ServerCores.N != 2 || s.ServerCPUPerReq.N != 2 {
		t.Errorf("the unmeasured repeat counted: server cores %+v, CPU per request %+v", s.ServerCores, s.ServerCPUPerReq)
	}
	if s.ServerCores.Median != 3.5 || math.Abs(s.MasterCores.Median-0.9) > 1e-9 || s.OtherCores.N != 1 || s.OtherCores.Max != 0.1 || s.StealCores.N != 0 {
		t.Errorf("server %+v master %+v other %+v steal %+v", s.ServerCores, s.MasterCores, s.OtherCores, s.StealCores)
	}
}

func TestJain(t *testing.T) {
	for _, tt := range []struct {
		counts map[string]int64
		n      int
		want   float64
	}{
		{map[string]int64{"0": 25, "1": 25, "2": 25, "3": 25}, 4, 1},
		{map[string]int64{"0": 100}, 4, 0.25},
		{map[string]int64{"0": 50, "1": 50}, 4, 0.5},
		{map[string]int64{"0": 7}, 1, 1},
		{nil, 0, 1},
	} {
		if got := Jain(tt.counts, tt.n); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Jain(%v, %d) = %v, want %v", tt.counts, tt.n, got, tt.want)
		}
	}
}

func TestStatsOf(t *testing.T) {
	s := StatsOf([]float64{4, 1, 3, 2})
	if s.Min != 1 || s.Max != 4 || s.Median != 2.5 || s.Mean != 2.5 || s.N != 4 || math.Abs(s.Stdev-math.Sqrt(1.25)) > 1e-12 {
		t.Errorf("StatsOf = %+v", s)
	}
}

func TestLatencyOfEmpty(t *testing.T) {
	var h results.Histogram
	if l := LatencyOf(&h); !reflect.DeepEqual(l, results.Latency{}) {
		t.Errorf("LatencyOf(empty) = %+v", l)
	}
}

// TestLatencyLowerBounds: values recorded as lower bounds (timeouts) make
// the figures that can reach them lower bounds, and only those.
func TestLatencyLowerBounds(t *testing.T) {
	var h results.Histogram
	for range 990 {
		h.Record(int64(time.Millisecond))
	}
	for range 10 {
		h.RecordBound(int64(100 * time.Millisecond))
	}
	l := LatencyOf(&h)
	for _, f := range []string{"p999", "max", "mean"} {
		if !l.IsLowerBound(f) {
			t.Errorf("%s not a lower bound: %v", f, l.LowerBounds)
		}
	}
	for _, f := range []string{"min", "p50", "p90", "p99"} {
		if l.IsLowerBound(f) {
			t.Errorf("%s marked a lower bound: %v", f, l.LowerBounds)
		}
	}
	var m results.Histogram
	m.Merge(&h)
	if m.Bounded() != 10 || !LatencyOf(&m).IsLowerBound("p999") {
		t.Errorf("a merge lost the bounds: %d", m.Bounded())
	}
}

func TestRunSteal(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	cases := []results.Case{{Repeats: []results.Repeat{
		{StealCPU: f(0.4), WallS: 10},
		{StealCPU: f(0.2), WallS: 5},
		{WallS: 10},                // a server on another host: not measured
		{StealCPU: f(9), WallS: 0}, // no wall time: left out
	}}}
	if s := RunSteal(cases, 4); s == nil || math.Abs(*s-0.01) > 1e-12 {
		t.Errorf("steal %v, want 0.6 s of 15 s × 4 CPUs = 0.01", s)
	}
	if s := RunSteal(cases, 0); s != nil {
		t.Errorf("steal over 0 CPUs: %v", *s)
	}
	if s := RunSteal([]results.Case{{Repeats: []results.Repeat{{WallS: 10}}}}, 2); s != nil {
		t.Errorf("steal where no repeat measured it: %v", *s)
	}
}
