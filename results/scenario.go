package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ScenarioFile is the name of a scenario's result inside its directory.
const ScenarioFile = "result.json"

// ScenarioVersion is the version of result.json's layout, bumped on a
// change that an older reader would misread. 0, in files written before
// it was recorded, is the same layout as 1.
const ScenarioVersion = 1

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

	State *StateResult `json:"state,omitempty"`
	Notes []string     `json:"notes,omitempty"`
}

// Action is one thing done to the server during a scenario's load.
type Action struct {
	Label string  `json:"label"`
	At    float64 `json:"at_s"`   // seconds since the load's measurement began
	Done  float64 `json:"done_s"` // when it had finished
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
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, ScenarioFile)
	return p, os.WriteFile(p, append(b, '\n'), 0o644)
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
