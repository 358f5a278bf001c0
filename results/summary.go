package results

import (
	"strconv"
	"time"
)

// Error kinds a request can fail with. Every failed request has exactly one.
const (
	ErrRefused   = "refused"    // connection refused: nothing listening
	ErrReset     = "reset"      // connection reset or broken pipe
	ErrClosed    = "closed"     // the server closed the connection before the response was complete
	ErrTimeout   = "timeout"    // no complete response within the timeout
	ErrBadStatus = "bad_status" // a complete response with a status of 400 or more
	ErrMalformed = "malformed"  // a response that is not valid HTTP/1.1, or a body over the size limit
	ErrConnect   = "connect"    // no connection could be opened on this side: out of file descriptors or local ports, no route
	ErrOther     = "other"
)

// Summary is what one load-generator run measured: one attack, or one
// repeat of a suite case. Latencies are in milliseconds in the JSON form.
type Summary struct {
	Engine      string `json:"engine"`
	Target      string `json:"target"`
	Method      string `json:"method"`
	Mode        Mode   `json:"mode"`
	Connections int    `json:"connections"`
	Rate        string `json:"rate,omitempty"` // open loop: the pacer, e.g. "5000/s" or "linear 1000->20000/s"
	KeepAlive   bool   `json:"keepalive"`
	// Pipeline is how many requests each connection kept in flight
	// (HTTP/1.1 pipelining): 1 is none, each request waiting for the
	// previous response; 0, in files from before it was recorded, is 1.
	Pipeline int       `json:"pipeline"`
	Start    time.Time `json:"start"`
	// DurationS is the attack's: how long requests were sent, the
	// duration asked for (or up to an interruption). The rates (RPS,
	// RPSAll, BytesInPS), the time series and the per-second samples
	// count what completed within it, over it.
	DurationS float64 `json:"duration_s"`
	// WaitS is how long after the attack the last request ended:
	// answered, failed (a timeout: up to the timeout) or, in an open
	// loop, given up as unsent; as vegeta's Wait. Before schema 2's
	// wait_s, duration_s included it.
	WaitS float64 `json:"wait_s"`
	// WaitRequests and WaitErrors count the requests that ended during
	// the wait, and which of them failed: they are in Requests, Errors,
	// the status codes, the per-worker counts and the latencies, not in
	// the rates, the time series or the per-second samples.
	WaitRequests int64 `json:"wait_requests"`
	WaitErrors   int64 `json:"wait_errors"`

	Interrupted bool `json:"interrupted,omitempty"` // stopped before Duration; the figures cover what ran

	// Segment is the part of a load split across processes or machines
	// this run sent, "I/N" (loadgen.Segment); empty for the whole load.
	Segment string `json:"segment,omitempty"`
	// StartAt is the start the run was told to wait for (bench attack
	// --start-at), in its own clock; StartLateMs how much later than that
	// it started, when the time was past by the time it was ready.
	StartAt     *time.Time `json:"start_at,omitempty"`
	StartLateMs float64    `json:"start_late_ms,omitempty"`

	Requests      int64             `json:"requests"`
	Errors        int64             `json:"errors"`
	ErrorKinds    map[string]int64  `json:"error_kinds"`
	ErrorExamples map[string]string `json:"error_examples,omitempty"` // kind: the first error text seen
	StatusCodes   map[string]int64  `json:"status_codes"`
	// RPS is successful responses per second: requests that did not
	// fail. Failures stand beside it (Errors, RPSAll), never in it: a
	// server that refuses every connection at once is not fast.
	RPS    float64 `json:"rps"`
	RPSAll float64 `json:"rps_all"` // every request, failed ones included, per second
	// Unsent counts open-loop requests scheduled within the duration that
	// could not be sent within the timeout of their scheduled time (every
	// connection was busy): never sent, so in neither Requests nor Errors,
	// but in the latency histogram at the time they were given up, as
	// lower bounds (see Latency.LowerBounds).
	Unsent      int64   `json:"unsent"`
	PerSecond   Stats   `json:"rps_per_second"` // of the per-second counts of successful responses
	BytesIn     int64   `json:"bytes_in"`       // response body bytes
	BytesOut    int64   `json:"bytes_out"`      // request body bytes
	BytesInPS   float64 `json:"bytes_in_per_s"`
	BytesPerSec Stats   `json:"bytes_in_per_second"` // of the per-second body byte counts

	Latency   Latency    `json:"latency_ms"`
	Histogram *Histogram `json:"histogram,omitempty"`

	PerWorker map[string]int64 `json:"per_worker"`
	// Workers is how many workers the server runs, as the server said
	// (at /.well-known/corebench) or the caller did; 0 when unknown, and then
	// Fairness is over the workers that answered.
	Workers int `json:"workers"`
	// Fairness is Jain's index over the Workers the server runs, a worker
	// that answered nothing counting 0: two workers, one did everything,
	// 0.5. It is 1 for one worker or none.
	Fairness float64 `json:"fairness"`

	Late Late `json:"late"`

	// MachineCPU is each CPU's busy share while measured, whatever kept
	// it busy (server, generator, kernel): one CPU pegged and the others
	// idle is the single-core problem.
	MachineCPU []float64 `json:"machine_cpu_busy,omitempty"`
	// LoadgenCPUs are the CPUs the generator's process could run on: with
	// MachineCPU, whether something else kept them busy.
	LoadgenCPUs []int `json:"loadgen_cpus,omitempty"`

	LoadgenCPU   float64 `json:"loadgen_cpu_s"`
	LoadgenCores float64 `json:"loadgen_cores"`   // CPU seconds per second of wall time
	CoresAllowed int     `json:"loadgen_allowed"` // CPUs the generator could run on
	Saturated    bool    `json:"saturated"`
	SaturatedWhy string  `json:"saturated_why,omitempty"`

	ConnectionsOpened int64 `json:"connections_opened"`

	TimeSeries []Sample `json:"timeseries,omitempty"`

	// LoadHosts are the parts of a load sent from several generators
	// (bench run --loadgen-host, bench report FILE...), one per host or
	// file, whose counts add up to this summary's; empty for one.
	LoadHosts []LoadHost `json:"load_hosts,omitempty"`
}

// LoadHost is one generator's part of a load sent from several.
type LoadHost struct {
	// Host is where it ran, [user@]host[:port], or the results file it
	// was read from.
	Host        string  `json:"host"`
	Segment     string  `json:"segment,omitempty"` // which part of the load, I/N
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	Unsent      int64   `json:"unsent"`
	RPS         float64 `json:"rps"`
	Connections int     `json:"connections"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	// Start is when it started measuring, in the clock of the machine
	// that merged the parts when ClockOffsetMs is known (corrected by
	// it), else in the host's own clock.
	Start     time.Time `json:"start"`
	DurationS float64   `json:"duration_s"`
	// ClockOffsetMs is the host's clock less the driver's, measured
	// NTP-style over the ssh session (bench run); nil when unknown.
	ClockOffsetMs *float64 `json:"clock_offset_ms,omitempty"`
	// ClockRTTMs is the round trip of the sample the offset came from:
	// the offset is right within half of it.
	ClockRTTMs float64 `json:"clock_rtt_ms,omitempty"`
	// StartSkewMs is how much later than the earliest part this one
	// started.
	StartSkewMs float64 `json:"start_skew_ms"`
	LoadgenCPU  float64 `json:"loadgen_cpu_s"`
	Saturated   bool    `json:"saturated,omitempty"`
}

// Latency holds the usual latency statistics in milliseconds. Requests
// that timed out count at the time they were given up, as vegeta counts
// them, and unsent ones likewise; both are lower bounds of what the
// request would have taken, and so is every figure they can move:
// LowerBounds names those ("p99", "max", "mean", ...). Other failures
// (refused, reset) have no response time and are left out.
type Latency struct {
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
	// LowerBounds names the figures above that are only lower bounds.
	LowerBounds []string `json:"lower_bounds,omitempty"`
}

// IsLowerBound reports whether the figure of that JSON name ("p99") is
// only a lower bound.
func (l Latency) IsLowerBound(name string) bool {
	for _, n := range l.LowerBounds {
		if n == name {
			return true
		}
	}
	return false
}

// FailedShare is the share of requests that failed.
func (s *Summary) FailedShare() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// Late describes open-loop requests that left after their scheduled time.
type Late struct {
	Count     int64   `json:"count"`
	Share     float64 `json:"share"`
	MeanMs    float64 `json:"mean_ms"`
	MaxMs     float64 `json:"max_ms"`
	Threshold float64 `json:"threshold_ms"`
	// ConnBusy of them left late because every connection was waiting
	// for a response, or while the generator caught up after such a wait:
	// the server was behind, and its queue formed in the generator (the
	// fast engine; the latencies count from the schedule, so they include
	// that wait).
	ConnBusy int64 `json:"conn_busy,omitempty"`
}

// Sample is one slice of the time series (by default 100 ms wide).
type Sample struct {
	T        float64 `json:"t"` // seconds since the start of measurement, at the slice's start
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	BytesIn  int64   `json:"bytes_in"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
}

// Stats summarises a set of samples.
type Stats struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
	Stdev  float64 `json:"stdev"`
	N      int     `json:"n"`
}

// Ms converts a duration to float milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WorkerKey is the PerWorker map key for a worker slot.
func WorkerKey(slot int) string { return strconv.Itoa(slot) }
