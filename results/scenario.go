package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// ScenarioFile is the name of a scenario's result inside its directory.
const ScenarioFile = "result.json"

// ScenarioVersion is the version of result.json's layout, bumped on a
// change that an older reader would misread. 0, in files written before
// it was recorded, is the same layout as 1.
//
// Version 2: a scenario stopped early says so (Interrupted); an older
// reader would take it for one that ran to its end.
const ScenarioVersion = 2

// Scenario is what `bench scenario` measured: something done to a server
// under a steady load (Actions, Load), or, for the state scenario, what
// per-process state did (State).
type Scenario struct {
	Version     int      `json:"version"`  // ScenarioVersion; Save sets it
	Scenario    string   `json:"scenario"` // crash, reload, scale, state or stall
	Model       string   `json:"model"`
	Workers     int      `json:"workers"`
	Rate        float64  `json:"rate"` // offered req/s; 0 for a closed loop
	Path        string   `json:"path"`
	KeepAlive   bool     `json:"keepalive"`
	NoHandover  bool     `json:"no_handover,omitempty"`
	Connections int      `json:"connections,omitempty"` // closed loop: the load was this many connections, not a rate
	Actions     []Action `json:"actions"`
	Load        *Summary `json:"load,omitempty"`

	Sent       int64            `json:"sent"`
	Failed     int64            `json:"failed"`
	ErrorKinds map[string]int64 `json:"error_kinds"`
	// Recovered is how long after the (first) action throughput was
	// back to 90% of what it was before, with no errors; -1 if never.
	Recovered float64 `json:"recovered_s"`
	// InFlight is, for a crash, the requests the worker had in flight
	// when it was killed: the failures the model cannot avoid.
	InFlight int64 `json:"in_flight_at_crash,omitempty"`
	// Conns is, for a crash, how many connections the worker had open
	// when it was killed: each carries at most one request at a time, so
	// no more requests than that can fail with it.
	Conns int64 `json:"connections_at_crash,omitempty"`
	// RestartMs is, for a crash, how long from the kill until a
	// replacement served: the master's online event for a prefork slot,
	// the new process's listening line for a one-process server.
	RestartMs float64 `json:"restart_ms,omitempty"`
	// Capacity is the req/s a closed-loop burst got before the load, when
	// the load was sized as Share of it.
	Capacity float64 `json:"capacity_rps,omitempty"`
	Share    float64 `json:"share,omitempty"`
	// ServedBefore and ServedDuring are the successful req/s before the
	// crash and while the restart lasted (over whole 100 ms slices): what
	// capacity the crash took away.
	ServedBefore float64 `json:"served_before_rps,omitempty"`
	ServedDuring float64 `json:"served_during_rps,omitempty"`
	// Events are, for a crash loop, what the master did to its slots.
	Events []SlotEvent `json:"events,omitempty"`

	State  *StateResult  `json:"state,omitempty"`
	Block  *BlockResult  `json:"block,omitempty"`
	Sizing *SizingResult `json:"sizing,omitempty"`
	Notes  []string      `json:"notes,omitempty"`

	// Interrupted is set when the scenario was stopped (Ctrl-C, SIGTERM)
	// before its end: what it measured until then is kept. Nil when it
	// ran to its end.
	Interrupted *Interruption `json:"interrupted,omitempty"`
}

// Interruption is how far a scenario got before it was stopped.
type Interruption struct {
	// AfterS is the seconds of its load measured, or, for a scenario of
	// several servers in turn (block, sizing, state), the seconds since
	// it began.
	AfterS float64 `json:"after_s"`
	// OfS is how long its load was to last; 0 for a scenario of several.
	OfS float64 `json:"of_s,omitempty"`
}

// String says so in words: "interrupted after 1.3 s of 6 s".
func (i Interruption) String() string {
	s := fmt.Sprintf("interrupted after %.1f s", i.AfterS)
	if i.OfS > 0 {
		s += fmt.Sprintf(" of %s s", strconv.FormatFloat(i.OfS, 'f', -1, 64))
	}
	return s
}

// SlotEvent is one thing a prefork master did to a slot: a worker
// crashed, it waits Delay to restart it, or it gave the slot up.
type SlotEvent struct {
	At       float64 `json:"at_s"` // seconds since the load's measurement began
	Kind     string  `json:"kind"` // crashed, restarting, online, errored
	Slot     int     `json:"slot"`
	UptimeMs float64 `json:"uptime_ms,omitempty"`
	DelayMs  float64 `json:"delay_ms,omitempty"`
	Restarts int     `json:"restarts,omitempty"`
}

// Action is one thing done to the server during a scenario's load.
type Action struct {
	Label string  `json:"label"`
	At    float64 `json:"at_s"`   // seconds since the load's measurement began
	Done  float64 `json:"done_s"` // when it had finished
}

// SizingResult is what the sizing scenario measured: an app run with one
// worker per CPU and with one fewer, next to a neighbour that needs a CPU
// of its own (a database, say), standing in for what shares the box.
type SizingResult struct {
	CPUs        int         `json:"cpus"`         // the CPUs this machine gives the app
	NeighborCPU int         `json:"neighbor_cpu"` // where the neighbour is pinned
	NeighborQPS float64     `json:"neighbor_qps"` // its queries per second, alone on the box
	NeighborMs  float64     `json:"neighbor_ms"`  // the CPU time of one of its queries, alone
	Path        string      `json:"path"`         // what the app's load asks for
	Connections int         `json:"connections"`  // the app's closed loop
	Runs        []SizingRun `json:"runs"`
}

// SizingRun is the app under one setup: its req/s and latency under a
// closed loop, and what the neighbour got done meanwhile.
type SizingRun struct {
	Setup    string  `json:"setup"` // "max, alone", "max-1, with the neighbour", ...
	Workers  int     `json:"workers"`
	Neighbor bool    `json:"neighbor"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	// NeighborQPS and NeighborP99 are the neighbour's queries per second
	// and their p99 during the app's load; 0 without one.
	NeighborQPS float64 `json:"neighbor_qps,omitempty"`
	NeighborP99 float64 `json:"neighbor_p99_ms,omitempty"`
}

// BlockResult is what the block scenario measured: one slow request of
// CPU work among a steady load of cheap ones, on each of several servers.
type BlockResult struct {
	Rate        float64    `json:"rate"`         // cheap requests per second, open loop
	Path        string     `json:"path"`         // what the cheap requests ask for
	TargetMs    float64    `json:"target_ms"`    // the CPU time the slow request was sized for
	Iters       int        `json:"iters"`        // its /cpu?n=
	CalibIters  int        `json:"calib_iters"`  // the n timed on the idle server to size it; 0 if given
	CalibMs     float64    `json:"calib_ms"`     // the best time of those
	ThresholdMs float64    `json:"threshold_ms"` // a cheap request waiting longer "noticed" the block
	Runs        []BlockRun `json:"runs"`
}

// BlockRun is the block scenario on one server. Times are seconds since
// the load began; a cheap request is "due" when the open loop scheduled
// it, and its latency counts from then.
type BlockRun struct {
	Setup     string  `json:"setup"` // e.g. "singlecore, event loop"
	Model     string  `json:"model"` // the variant, for colours
	EventLoop bool    `json:"event_loop"`
	Workers   int     `json:"workers"`
	Iters     int     `json:"iters,omitempty"` // the slow request's /cpu?n= where not BlockResult's: an external server sized on itself
	SlowMs    float64 `json:"slow_ms"`         // the slow request's own latency
	SlowError string  `json:"slow_error,omitempty"`
	BlockAt   float64 `json:"block_at_s"`  // the slow request sent
	BlockEnd  float64 `json:"block_end_s"` // its answer received
	Sent      int     `json:"sent"`        // cheap requests
	Failed    int     `json:"failed"`
	// The cheap requests due while the slow one ran, and their latency.
	Due      int     `json:"due"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	Over     int     `json:"over_threshold"` // of Due, waited longer than the threshold
	AfterEnd int     `json:"held_to_end"`    // of Due, answered with the slow request or after it
	// The cheap requests due before the block: the undisturbed latency.
	BeforeP50 float64 `json:"before_p50_ms"`
	BeforeP99 float64 `json:"before_p99_ms"`
	// Requests are the cheap requests, for the chart.
	Requests []BlockSample `json:"requests"`
}

// BlockSample is one cheap request: when it was due and how long it took
// from then (a failed one has Failed set and its time to failure).
type BlockSample struct {
	T      float64 `json:"t"`
	Ms     float64 `json:"ms"`
	Failed bool    `json:"failed,omitempty"`
}

// StateResult is what the state scenario found.
type StateResult struct {
	Requests int `json:"requests"`
	// PerProcess is what /counter, a per-process variable, counted in
	// each worker: about a share each, none the total.
	PerProcess []WorkerCount `json:"per_process"`
	// Shared is the final value of /counter/shared, held by the master.
	Shared int64 `json:"shared"`
	// Store is the final value of /counter/shared kept in the --state
	// store, or -1 when none was given.
	Store    int64          `json:"store"`
	Sessions []SessionCheck `json:"sessions"`
	Costs    []CounterCost  `json:"costs"`
}

// WorkerCount is one worker's per-process counter.
type WorkerCount struct {
	Slot  int   `json:"slot"`
	PID   int   `json:"pid"`
	Count int64 `json:"count"`
}

// SessionCheck is how many session lookups found the session, under one
// setup.
type SessionCheck struct {
	Setup   string `json:"setup"` // one of the Sessions… constants
	Found   int    `json:"found"`
	Lookups int    `json:"lookups"`
}

// CounterCost is what keeping a counter one way costs: req/s and p99 of a
// short closed-loop burst at it.
type CounterCost struct {
	Setup string  `json:"setup"` // one of the Counter… constants
	Path  string  `json:"path"`
	RPS   float64 `json:"rps"`
	P99   float64 `json:"p99_ms"`
}

// The setups the state scenario compares, as SessionCheck.Setup and
// CounterCost.Setup name them: the scenario writes them, the report
// colours by them.
const (
	SessionsInWorkers = "rr, sessions in worker memory"
	SessionsSticky    = "sticky, sessions in worker memory"
	SessionsInStore   = "rr, sessions in the store"

	CounterPerProcess = "per-process variable"
	CounterInMaster   = "held by the master (IPC)"
	CounterInStore    = "in the store (Redis)"
)

// Save writes s as dir/result.json and returns the file's path.
func (s *Scenario) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	s.Version = ScenarioVersion
	p := filepath.Join(dir, ScenarioFile)
	return p, saveJSON(p, s)
}

// LoadScenario reads the result.json of a scenario's directory dir (or
// the file itself).
func LoadScenario(dir string) (*Scenario, error) {
	p := dir
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		p = filepath.Join(dir, ScenarioFile)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var s Scenario
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: not a scenario's result: %v", p, err)
	}
	switch {
	case s.Scenario == "":
		return nil, fmt.Errorf("%s: not a scenario's result (no scenario name)", p)
	case s.Version > ScenarioVersion:
		return nil, fmt.Errorf("%s: version %d, newer than this bench reads (%d): use a newer bench", p, s.Version, ScenarioVersion)
	}
	return &s, nil
}
