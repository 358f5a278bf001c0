package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// part is a summary of the latencies xs (ns), started at start, as a
// generator would report it, through its JSON form as bench report
// reads it.
func part(t *testing.T, start time.Time, seg string, xs []int64, workers map[string]int64) *results.Summary {
	t.Helper()
	h := &results.Histogram{}
	for _, x := range xs {
		h.Record(x)
	}
	s := &results.Summary{Engine: "fast", Target: "http://x/", Mode: results.ModeClosed, Connections: 3, Start: start, DurationS: 2, Segment: seg,
		Requests: int64(len(xs)), Errors: 1, ErrorKinds: map[string]int64{results.ErrTimeout: 1}, StatusCodes: map[string]int64{"200": int64(len(xs)) - 1},
		PerWorker: workers, Workers: 4, Histogram: h, Latency: LatencyOf(h), LoadgenCPU: 0.5,
		TimeSeries: []results.Sample{{T: 0, Requests: int64(len(xs)) / 2}, {T: 0.1, Requests: int64(len(xs)) - int64(len(xs))/2}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back results.Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

// TestMergeLossless: merged counts are the sums of the parts'; merged
// percentiles are those of one histogram fed every value, not a blend of
// the parts' percentiles.
func TestMergeLossless(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 12, 1, 20, 0, 5, 0, time.UTC)
	var all results.Histogram
	var parts []Part
	var want int64
	for i, spread := range []float64{1, 3, 0.3} { // three hosts of very different latencies
		xs := make([]int64, 5000+1000*i)
		for j := range xs {
			xs[j] = int64(math.Exp(r.NormFloat64()*spread + 13))
			all.Record(xs[j])
		}
		want += int64(len(xs))
		off := float64(i) * 1000 // host clocks 0, 1, 2 s ahead, started 2 ms apart
		start := t0.Add(time.Duration(off*1e6) + time.Duration(i)*2*time.Millisecond)
		parts = append(parts, Part{Host: "h" + string(rune('1'+i)), ClockOffsetMs: &off, Summary: part(t, start, string(rune('1'+i))+"/3", xs, map[string]int64{"0": 10, "1": int64(i)})})
	}
	m, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != want || m.Histogram.Count() != uint64(want) || m.Errors != 3 || m.ErrorKinds[results.ErrTimeout] != 3 || m.StatusCodes["200"] != want-3 {
		t.Errorf("merged %d requests (histogram %d), %d errors %v, statuses %v; want %d, 3 timeouts", m.Requests, m.Histogram.Count(), m.Errors, m.ErrorKinds, m.StatusCodes, want)
	}
	if got := LatencyOf(&all); m.Latency.P50 != got.P50 || m.Latency.P99 != got.P99 || m.Latency.P999 != got.P999 || m.Latency.Max != got.Max || m.Latency.Min != got.Min {
		t.Errorf("merged latency %+v, want that of one histogram of every value %+v", m.Latency, got)
	}
	var naive float64 // what averaging the parts' p99s would say: not it
	for _, p := range parts {
		naive += p.Summary.Latency.P99 / 3
	}
	if m.Latency.P99 == naive {
		t.Error("merged p99 is the mean of the parts' p99s")
	}
	if m.PerWorker["0"] != 30 || m.PerWorker["1"] != 3 || m.Connections != 9 || m.LoadgenCPU != 1.5 {
		t.Errorf("per worker %v, connections %d, loadgen CPU %v", m.PerWorker, m.Connections, m.LoadgenCPU)
	}
	// Clocks corrected: the parts started 0, 2 and 4 ms apart, and the
	// whole load lasted 2.004 s.
	if len(m.LoadHosts) != 3 || math.Abs(m.LoadHosts[2].StartSkewMs-4) > 1e-6 || !m.Start.Equal(t0) || math.Abs(m.DurationS-2.004) > 1e-9 {
		t.Errorf("hosts %+v, start %v, duration %v", m.LoadHosts, m.Start, m.DurationS)
	}
	var rows int64
	for _, h := range m.LoadHosts {
		rows += h.Requests
	}
	var series int64
	for _, x := range m.TimeSeries {
		series += x.Requests
	}
	if rows != want || series != want {
		t.Errorf("host rows add up to %d, series to %d; want %d", rows, series, want)
	}
	if err := results.SegmentsMissing(m.LoadHosts); err != nil {
		t.Errorf("segments 1/3, 2/3, 3/3: %v", err)
	}
	if err := results.SegmentsMissing(m.LoadHosts[:2]); err == nil || !strings.Contains(err.Error(), "3/3 missing") {
		t.Errorf("without 3/3: %v", err)
	}
	if err := results.SegmentsMissing(append(m.LoadHosts, m.LoadHosts[0])); err == nil || !strings.Contains(err.Error(), "1/3 given more than once") {
		t.Errorf("1/3 twice: %v", err)
	}
	// A summary without its histogram cannot be merged losslessly.
	parts[1].Summary.Histogram = nil
	if _, err := Merge(parts); err == nil || !strings.Contains(err.Error(), "h2") {
		t.Errorf("merge without a histogram: %v", err)
	}
}
