package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SchemaVersion is the version of the results.json layout this build
// writes and reads. Bump it on any change that an older reader would
// misread; Load refuses other versions rather than guess.
//
// Version 2: rps is successful responses per second (version 1 counted
// failures in it), percentiles count timeouts, fairness is over every
// worker the server runs, and open loops count unsent requests.
const SchemaVersion = 2

// FileName is the name of a run's results file inside its directory.
const FileName = "results.json"

// Run is one `bench run`: the conditions it ran under and every case.
type Run struct {
	Schema   int       `json:"schema"`
	ID       string    `json:"id"` // also the directory name: <UTC time>-<host>
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Complete is false until the run has measured every case it planned:
	// bench run saves results.json after each case, so a run interrupted,
	// killed or stopped by a full disk keeps the cases it finished.
	Complete bool `json:"complete"`
	// Planned is how many cases the run planned; 0 in runs from before
	// it was recorded.
	Planned   int       `json:"planned,omitempty"`
	Profile   string    `json:"profile"`
	Env       Env       `json:"env"`
	Placement Placement `json:"placement"`
	Topology  *Topology `json:"topology,omitempty"` // nil in runs from before topology was recorded
	Settings  Settings  `json:"settings"`
	// Servers are the external servers it measured (`bench run
	// --server`), their commands as given.
	Servers []Server `json:"servers,omitempty"`
	Cases   []Case   `json:"cases"`
}

// Server is an external server of a run: a model named Name that
// /bin/sh -c Command starts, {port}, {workers} and {cpus} filled in; Ready
// is the stdout pattern that said it was ready, if any (else its port
// accepting a connection did).
type Server struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	Ready   string `json:"ready,omitempty"`
}

// Env is the machine and harness a run measured on, so runs stay
// comparable later.
type Env struct {
	Host        string `json:"host"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Kernel      string `json:"kernel"`
	CPUModel    string `json:"cpu_model"`
	CPUs        int    `json:"cpus"`
	MemoryMB    int64  `json:"memory_mb"`
	GoVersion   string `json:"go_version"`
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	CommandLine string `json:"command_line"`
	Noise       Noise  `json:"noise"`
	// Virtualization is whether this machine is a virtual machine; nil in
	// runs from before it was recorded, and off Linux.
	Virtualization *Virtualization `json:"virtualization,omitempty"`
	// Hosts are the other machines of a run across hosts (bench run
	// --server-host, --loadgen-host); this machine, the driver, is the
	// fields above.
	Hosts []HostEnv `json:"hosts,omitempty"`
}

// HostEnv is one other machine of a run across hosts.
type HostEnv struct {
	Host     string `json:"host"` // as given: [user@]host[:port]
	Role     string `json:"role"` // "server" or "load"
	Hostname string `json:"hostname"`
	Arch     string `json:"arch"`
	Kernel   string `json:"kernel"`
	CPUModel string `json:"cpu_model"`
	CPUs     int    `json:"cpus"`
	// Bench is the bench binary run there: shipped into a temporary
	// directory removed at the end (Shipped), or the same binary found
	// on its PATH.
	Bench   string `json:"bench"`
	Shipped bool   `json:"shipped"`
	// ClockOffsetMs is its clock less the driver's, measured over the ssh
	// session NTP-style (the least round trip of several, ClockRTTMs).
	ClockOffsetMs float64 `json:"clock_offset_ms"`
	ClockRTTMs    float64 `json:"clock_rtt_ms"`
}

// Placement says which CPUs the servers and the load generator used.
type Placement struct {
	ServerCPUs  []int  `json:"server_cpus"`
	LoadgenCPUs []int  `json:"loadgen_cpus"`
	Shared      bool   `json:"shared"` // servers and generator share cores
	Note        string `json:"note"`   // the placement in plain words
}

// Settings are the run-wide measurement settings.
type Settings struct {
	Duration float64 `json:"duration_s"` // measured time per repeat
	Warmup   float64 `json:"warmup_s"`
	Repeat   int     `json:"repeat"`
	Engine   string  `json:"engine"`
	CPUIters int     `json:"cpu_iters"` // work of /cpu per request
	IOMs     int     `json:"io_ms"`     // wait of /io per request
	// Connections is the closed loops' concurrency outside the
	// connections sweep, and ConnectionsFrom how it was decided (sized to
	// the server CPUs, or set by --connections); empty in older runs.
	Connections     int    `json:"connections,omitempty"`
	ConnectionsFrom string `json:"connections_from,omitempty"`
	// ServerTimeouts are the limits bench's own servers put on a slow
	// client (bench serve --header-timeout, --request-timeout,
	// --idle-timeout); nil in runs written before they were recorded. A
	// server of --server has its own.
	ServerTimeouts *Timeouts `json:"server_timeouts,omitempty"`
	// Interleaved says the models compared side by side (the models
	// sweep of each workload) were measured in turn: every server started
	// and warmed up, then in each round one repeat of each, in an order
	// drawn afresh each round from OrderSeed, each after a warm-up of
	// VisitWarmup. A slow drift of the machine then falls on every model
	// alike instead of on whichever ran last. False in older runs: each
	// case's repeats ran back to back.
	Interleaved bool    `json:"interleaved,omitempty"`
	VisitWarmup float64 `json:"visit_warmup_s,omitempty"`
	OrderSeed   uint64  `json:"order_seed,omitempty"`
}

// Timeouts are a server's limits on a slow client, in seconds; 0 is none.
type Timeouts struct {
	HeaderS  float64 `json:"header_s"`  // to send a request's headers
	RequestS float64 `json:"request_s"` // to send a whole request
	IdleS    float64 `json:"idle_s"`    // a kept-alive connection's wait for its next request
}

// Case is one model under one load: measured Repeat times against one
// freshly started server.
type Case struct {
	ID          string  `json:"id"`    // stable across runs, e.g. "prefork-rr/cpu/closed-c100/w2"
	Sweep       Sweep   `json:"sweep"` // which comparison it belongs to
	Model       string  `json:"model"` // its variant's Name (package variant)
	Workers     int     `json:"workers"`
	Workload    string  `json:"workload"` // hello, json, cpu, io
	Path        string  `json:"path"`
	Mode        Mode    `json:"mode"`
	Connections int     `json:"connections"`
	Rate        float64 `json:"rate,omitempty"` // open loop: offered req/s
	KeepAlive   bool    `json:"keepalive"`
	// ServerCPUs are the CPUs the server could run on; empty in results
	// written before they were recorded (see AllottedCPUs).
	ServerCPUs []int `json:"server_cpus,omitempty"`
	// Command is what ran an external server's case, placeholders filled
	// in; empty for a built-in model.
	Command string   `json:"command,omitempty"`
	Repeats []Repeat `json:"repeats"`
	// Summary is computed from Repeats by stats.Summarize; nil when no repeat
	// measured anything.
	Summary *CaseSummary `json:"summary,omitempty"`
	Error   string       `json:"error,omitempty"` // why the case failed, if it did
}

// Repeat is one measurement of a case.
type Repeat struct {
	// Start is when the measured load began; zero in older results.
	// Interleaved repeats (Settings.Interleaved) of a comparison's
	// models alternate in time.
	Start       time.Time `json:"start,omitzero"`
	Load        Summary   `json:"load"`             // what the load generator measured
	ServerCPU   float64   `json:"server_cpu_s"`     // CPU seconds of all server processes while measured
	ServerRSS   int64     `json:"server_rss_bytes"` // peak resident memory, summed over its processes
	ServerProcs int       `json:"server_procs"`
	// ServerUnmeasured says why ServerCPU, ServerRSS and ServerProcs are
	// 0 rather than measured: a server on another host whose reading
	// failed. Statistics leave such a repeat's server figures out.
	ServerUnmeasured string `json:"server_unmeasured,omitempty"`
	// WallS is the wall time over which the suite read the CPU figures
	// (ServerCPU and the ones below): the whole measurement, a little
	// longer than Load.DurationS. 0 in older results.
	WallS float64 `json:"wall_s,omitempty"`
	// MasterCPU is the CPU seconds of the prefork master alone (part of
	// ServerCPU); nil for other models.
	MasterCPU *float64 `json:"master_cpu_s,omitempty"`
	// OtherCPU is the CPU seconds every other process on the machine
	// took meanwhile: user and system time of /proc/stat minus the
	// server's and this process's (the generator's). Interrupt time, mostly
	// the load's own packets, is in it only where the kernel also charges
	// it to the processes interrupted. StealCPU is what a hypervisor gave
	// other guests. Both nil where not measured.
	OtherCPU *float64 `json:"other_cpu_s,omitempty"`
	StealCPU *float64 `json:"steal_cpu_s,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Spread is a median with the min and max across repeats.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// CaseSummary condenses a case's repeats: medians with min and max for
// rates and latencies, sums for counts, and the exact merge of the
// latency histograms.
type CaseSummary struct {
	RPS             Spread `json:"rps"`
	P50             Spread `json:"p50_ms"`
	P90             Spread `json:"p90_ms"`
	P99             Spread `json:"p99_ms"`
	P999            Spread `json:"p999_ms"`
	Max             Spread `json:"max_ms"`
	Requests        int64  `json:"requests"`
	Errors          int64  `json:"errors"`
	ServerCPUPerReq Spread `json:"server_cpu_us_per_req"`
	ServerRSSMB     Spread `json:"server_rss_mb"`
	LoadgenCores    Spread `json:"loadgen_cores"`
	// ServerCores is the server's CPU seconds per second of wall time,
	// master included; MasterCores the prefork master's alone (N 0 for
	// other models); OtherCores and StealCores the same of OtherCPU and
	// StealCPU (N 0 where not measured).
	ServerCores Spread `json:"server_cores"`
	MasterCores Spread `json:"master_cores"`
	OtherCores  Spread `json:"other_cores"`
	StealCores  Spread `json:"steal_cores"`
	// LimitedBy is what limited the case and LimitedWhy says so with the
	// figures; set by assess.Case, which needs the placement.
	LimitedBy  Limit  `json:"limited_by"`
	LimitedWhy string `json:"limited_why,omitempty"`
	// Noise warns of machine noise the case met (see assess.NoiseWarnings).
	Noise []string `json:"noise,omitempty"`
	// PerWorker adds up the repeats' per-worker counts, and Fairness is
	// Jain's index of those sums over the Workers the server ran (the
	// most any repeat saw), idle ones counting 0: the same figure the
	// per-worker bars draw. Each repeat's own index is in its Load.
	PerWorker map[string]int64 `json:"per_worker"`
	Workers   int              `json:"workers"`
	Fairness  float64          `json:"fairness"`
	// FailedShare is the share of the repeats' requests that failed; over
	// assess.FailedFlag the case is flagged and left out of fits.
	FailedShare float64 `json:"failed_share"`
	Unsent      int64   `json:"unsent"`
	Late        int64   `json:"late"`
	// LowerBounds names the latency figures (as in Latency) that are only
	// lower bounds in some repeat: their medians are lower bounds too.
	LowerBounds []string   `json:"lower_bounds,omitempty"`
	Saturated   bool       `json:"saturated"` // the generator was the bottleneck in some repeat
	Histogram   *Histogram `json:"histogram"`
}

// Save writes the run as dir/results.json, creating dir.
func (r *Run) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Schema = SchemaVersion
	return saveJSON(filepath.Join(dir, FileName), r)
}

// saveJSON writes v as indented JSON to path, through a temporary file
// synced and renamed into place, so an interruption, a crash or a full
// disk never leaves half a file at path: a save that fails leaves the
// file it would have replaced as it was, and removes its temporary file.
func saveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// CheckDir reports, in one line, why a run could not be saved in dir:
// dir, or the nearest of its parents that exists, is not a directory, or
// a file cannot be created and written there. It leaves nothing behind:
// the directories a save would create are not created.
func CheckDir(dir string) error {
	p := filepath.Clean(dir)
	for {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is a file, not a directory", p)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("cannot use %s: %v", p, unwrapPath(err))
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("cannot use %s: %v", dir, err)
		}
		p = parent
	}
	// Write a little where the save would write, and take it away.
	probe, err := os.MkdirTemp(p, ".bench-check-")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %v", p, unwrapPath(err))
	}
	defer os.RemoveAll(probe)
	if err := saveJSON(filepath.Join(probe, FileName), strings.Repeat(" ", 4096)); err != nil {
		return fmt.Errorf("cannot write in %s: %v", p, unwrapPath(err))
	}
	return nil
}

// unwrapPath is err without the path an *fs.PathError adds, when the
// message names the place already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Load reads a run from a results.json file or a directory holding one,
// as it was written: a file from before limited_by was recorded has none
// (assess.Run derives it). A file of another schema version, or a
// damaged one, is a clear error.
func Load(path string) (*Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such results file (a run directory holds %s)", path, FileName)
		}
		return nil, err
	}
	var probe struct {
		Schema *int            `json:"schema"`
		ID     string          `json:"id"`
		Cases  json.RawMessage `json:"cases"` // empty when absent; null is read as such
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("%s is damaged, not a results file: %s", path, jsonError(b, err))
	}
	switch {
	case probe.Schema == nil:
		return nil, fmt.Errorf("%s is not a corebench results file: it has no schema version", path)
	case *probe.Schema != SchemaVersion:
		return nil, fmt.Errorf("%s has results schema version %d; this bench reads version %d (use the bench that wrote it)", path, *probe.Schema, SchemaVersion)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is damaged: %s", path, jsonError(b, err))
	}
	if probe.ID == "" || len(probe.Cases) == 0 {
		// A run writes its id and its list of cases from its first save.
		return nil, fmt.Errorf("%s is not a whole results file: it has schema version %d but no run id or no list of cases, which every bench run writes", path, *probe.Schema)
	}
	return &r, nil
}

// jsonError says where in b a decoding error is.
func jsonError(b []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return err.Error()
	}
	line := 1 + strings.Count(string(b[:off]), "\n")
	return fmt.Sprintf("%v (line %d)", err, line)
}
