package results

// Sweep names the comparison a case belongs to: what varies across its
// cases, everything else held.
type Sweep string

// The sweeps of a run.
const (
	SweepModels      Sweep = "models"      // every model under the same load
	SweepConnections Sweep = "connections" // closed loop at several connection counts
	SweepRate        Sweep = "rate"        // open loop at fractions of each model's capacity
	SweepWorkers     Sweep = "workers"     // multi-worker models at 1, 2, 4, ... workers
	SweepKeepAlive   Sweep = "keepalive"   // a new connection per request
)

// Mode is how the load generator paces requests.
type Mode string

// The modes.
const (
	// ModeClosed keeps a fixed number of connections busy: each sends its
	// next request when the previous response is complete.
	ModeClosed Mode = "closed"
	// ModeOpen sends requests at a rate, whether or not earlier ones
	// were answered; latency counts from when each was due.
	ModeOpen Mode = "open"
)
