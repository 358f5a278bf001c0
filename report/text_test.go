package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// TestTextGolden: the attack table and the scenario summary print what
// testdata/{attack,scenario}-*.txt.golden hold (recorded from cmd/bench
// before the code moved here): the ≥ lower bounds, the failed and unsent
// lines, every worker with the idle at 0%, the state tables.
func TestTextGolden(t *testing.T) {
	check := func(name string, b []byte) {
		t.Helper()
		golden := filepath.Join("testdata", name+".txt.golden")
		if *update {
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		w, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./report -run TextGolden -update to create it)", err)
		}
		if !bytes.Equal(b, w) {
			t.Errorf("%s differs from %s (go test ./report -run TextGolden -update rewrites it after a deliberate change):\n%s",
				name, golden, firstDiff(string(w), string(b)))
		}
	}
	for name, s := range attackFixtures() {
		var b bytes.Buffer
		if err := AttackTable(&b, s); err != nil {
			t.Fatal(err)
		}
		check("attack-"+name, b.Bytes())
	}
	for name, r := range scenarioFixtures() {
		var b bytes.Buffer
		if err := ScenarioText(&b, r); err != nil {
			t.Fatal(err)
		}
		check("scenario-"+name, b.Bytes())
	}
}

// hist is a histogram of the latencies ms and of timeouts given up at
// bounds, in milliseconds.
func hist(ms []float64, bounds []float64) *results.Histogram {
	var h results.Histogram
	for _, v := range ms {
		h.Record(int64(v * 1e6))
	}
	for _, v := range bounds {
		h.RecordBound(int64(v * 1e6))
	}
	return &h
}

// attackFixtures are summaries of `bench attack` runs: a clean closed
// loop, an open loop with every kind of trouble, a merged file with no
// latencies, and an open loop over 40 workers half of them idle.
func attackFixtures() map[string]*results.Summary {
	var lat []float64
	for i := 1; i <= 1000; i++ {
		lat = append(lat, 0.2+float64(i%97)*0.37)
	}
	closed := &results.Summary{Engine: "fast", Target: "http://127.0.0.1:8080/", Method: "GET", Mode: "closed", Connections: 64,
		KeepAlive: true, DurationS: 10.0004, Requests: 1234567, StatusCodes: map[string]int64{"200": 1234567},
		RPS: 123451.2, RPSAll: 123451.2, PerSecond: results.Stats{Min: 119000.4, Median: 123400, Mean: 123451.2, Max: 125999.5, Stdev: 1800.25, N: 10},
		BytesIn: 14814804, BytesPerSec: results.Stats{Min: 1428000, Median: 1480800, Mean: 1481480, Max: 1512000, Stdev: 21600, N: 10},
		PerWorker: map[string]int64{"0": 617000, "1": 617567}, Workers: 2,
		LoadgenCPU: 9.87, LoadgenCores: 0.987, CoresAllowed: 1, LoadgenCPUs: []int{1}, MachineCPU: []float64{0.98, 0.99}}
	closed.Histogram = hist(lat, nil)
	closed.Latency = stats.LatencyOf(closed.Histogram)
	closed.Fairness = stats.Jain(closed.PerWorker, 2)

	open := &results.Summary{Engine: "vegeta", Target: "http://127.0.0.1:8080/io?ms=5", Method: "POST", Mode: "open", Connections: 16,
		Rate: "5000/s", ConnectionsOpened: 212, DurationS: 3.51, Interrupted: true, Requests: 17500, Errors: 420,
		ErrorKinds:    map[string]int64{results.ErrTimeout: 300, results.ErrBadStatus: 100, results.ErrReset: 20},
		ErrorExamples: map[string]string{results.ErrTimeout: "context deadline exceeded", results.ErrBadStatus: "503 Service Unavailable", results.ErrReset: "read: connection reset by peer"},
		StatusCodes:   map[string]int64{"200": 17080, "503": 100, "0": 320},
		RPS:           4866.1, RPSAll: 4985.8, Unsent: 1234,
		PerSecond: results.Stats{Min: 3100, Median: 4990, Mean: 4866.1, Max: 5010, Stdev: 812.4, N: 3},
		BytesIn:   512, BytesPerSec: results.Stats{Min: 100, Median: 170, Mean: 170.6, Max: 242, Stdev: 57.1, N: 3},
		PerWorker: map[string]int64{"1": 17080}, Workers: 2,
		Late:       results.Late{Count: 2345, Share: 0.134, MeanMs: 12.5, MaxMs: 1499.9, Threshold: 1, ConnBusy: 2000},
		LoadgenCPU: 3.9, LoadgenCores: 1.11, CoresAllowed: 2, Saturated: true, SaturatedWhy: "the generator used 1.11 of its 2 CPUs"}
	open.Histogram = hist(lat[:500], []float64{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000})
	open.Latency = stats.LatencyOf(open.Histogram)
	open.Fairness = stats.Jain(open.PerWorker, 2)

	merged := &results.Summary{Engine: "merged", Target: "http://10.0.0.2:8080/", Method: "GET", Mode: "closed", DurationS: 20,
		Requests: 0, PerWorker: map[string]int64{"0": 3, "1": 1}}
	merged.Fairness = stats.Jain(merged.PerWorker, 0)

	openOK := &results.Summary{Engine: "fast", Target: "http://127.0.0.1:8080/", Method: "GET", Mode: "open", Connections: 4,
		Rate: "linear 1000->20000/s", ConnectionsOpened: 4, DurationS: 2, KeepAlive: true, Requests: 21000,
		StatusCodes: map[string]int64{"200": 21000}, RPS: 10500, RPSAll: 10500,
		PerSecond: results.Stats{Min: 5500, Median: 10500, Mean: 10500, Max: 15500, Stdev: 7071.07, N: 2},
		Late:      results.Late{Threshold: 1}, Workers: 40, LoadgenCPU: 0.5, LoadgenCores: 0.25, CoresAllowed: 2}
	openOK.PerWorker = map[string]int64{}
	for i := 0; i < 40; i += 2 {
		openOK.PerWorker[results.WorkerKey(i)] = 1050
	}
	openOK.Histogram = hist(lat[:100], nil)
	openOK.Latency = stats.LatencyOf(openOK.Histogram)
	openOK.Fairness = stats.Jain(openOK.PerWorker, 40)
	return map[string]*results.Summary{"closed": closed, "open": open, "merged": merged, "open-ok": openOK}
}

// scenarioFixtures are results of each kind of scenario.
func scenarioFixtures() map[string]*results.Scenario {
	series := []results.Sample{{T: 0, Requests: 200, P99: 6}, {T: 0.1, Requests: 200, Errors: 3, P99: 7}}
	crash := &results.Scenario{Scenario: "crash", Model: "prefork-rr", Workers: 4, Rate: 2000, Path: "/io?ms=5", KeepAlive: true,
		Actions: []results.Action{{Label: "SIGKILL worker 1", At: 2.004, Done: 2.0312}},
		Load: &results.Summary{Mode: "open", DurationS: 6.0, Latency: results.Latency{P50: 5.2, P99: 9.87, P999: 45.6, Max: 1003}, TimeSeries: series,
			Saturated: true, SaturatedWhy: "the generator used 0.98 of its 1 CPU"},
		Sent: 12000, Failed: 7, ErrorKinds: map[string]int64{"reset": 5, "closed": 2}, Recovered: 0.1, InFlight: 9, Conns: 4,
		Notes: []string{"the master restarted worker 1 in 27 ms"}}
	stall := &results.Scenario{Scenario: "stall", Model: "singlecore", Workers: 1, Rate: 0, Connections: 4, Path: "/",
		Actions: []results.Action{{Label: "SIGSTOP", At: 0.667, Done: 0.667}, {Label: "SIGCONT", At: 1.167, Done: 1.168}},
		Load:    &results.Summary{Mode: "closed", DurationS: 2, Latency: results.Latency{P50: 0.08, P99: 0.9, P999: 499, Max: 500.2}, TimeSeries: series},
		Sent:    20000, ErrorKinds: map[string]int64{}, Recovered: -1}
	reload := &results.Scenario{Scenario: "reload", Model: "prefork-reuseport", Workers: 4, Rate: 4500, Path: "/cpu", NoHandover: true,
		Actions: []results.Action{{Label: "rolling reload", At: 2, Done: 3.5}},
		Load:    &results.Summary{Mode: "open", DurationS: 6, Latency: results.Latency{P50: 1, P99: 20, P999: 200, Max: 2000}, TimeSeries: series},
		Sent:    27000, Failed: 0, Recovered: 0}
	state := &results.Scenario{Scenario: "state", Model: "prefork-rr", Workers: 4, State: &results.StateResult{Requests: 1000,
		PerProcess: []results.WorkerCount{{Slot: 0, PID: 101, Count: 250}, {Slot: 1, PID: 102, Count: 251}, {Slot: 2, PID: 103, Count: 249}, {Slot: 3, PID: 104, Count: 250}},
		Shared:     1000, Store: 1000,
		Sessions: []results.SessionCheck{{Setup: results.SessionsInWorkers, Found: 50, Lookups: 200},
			{Setup: results.SessionsSticky, Found: 200, Lookups: 200}, {Setup: results.SessionsInStore, Found: 200, Lookups: 200}},
		Costs: []results.CounterCost{{Setup: results.CounterPerProcess, Path: "/counter", RPS: 41234.5, P99: 0.91},
			{Setup: results.CounterInMaster, Path: "/counter/shared", RPS: 20123, P99: 2.3}, {Setup: results.CounterInStore, Path: "/counter/shared", RPS: 15000, P99: 3.45}}},
		Notes: []string{"Redis at redis://127.0.0.1:6379"}}
	stateNoStore := &results.Scenario{Scenario: "state", Model: "prefork-rr", Workers: 2, State: &results.StateResult{Requests: 100,
		PerProcess: []results.WorkerCount{{Slot: 0, PID: 7, Count: 50}, {Slot: 1, PID: 8, Count: 50}}, Shared: 100, Store: -1,
		Sessions: []results.SessionCheck{{Setup: results.SessionsInWorkers, Found: 4, Lookups: 8}},
		Costs:    []results.CounterCost{{Setup: results.CounterPerProcess, Path: "/counter", RPS: 900, P99: 12}}}}
	return map[string]*results.Scenario{"crash": crash, "stall": stall, "reload": reload, "state": state, "state-nostore": stateNoStore}
}
