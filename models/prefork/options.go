package prefork

import (
	"errors"
	"time"

	"github.com/corebench/corebench/models"
)

// ErrUnsupported is what every operation returns on an OS other than Linux.
var ErrUnsupported = errors.New("the prefork model needs Linux (SCM_RIGHTS, SO_REUSEPORT, PR_SET_PDEATHSIG); use singlecore or goroutines here")

// DefaultTimeout is how long a Client waits for a master's next line
// unless told otherwise.
const DefaultTimeout = 5 * time.Second

// ErrNotResponding is what a Client's calls fail with when the master
// sends nothing for its Timeout: it is stopped (SIGSTOP, a debugger) or
// wedged. A busy master still answers: it sends heartbeats meanwhile.
var ErrNotResponding = errors.New("not responding")

// DefaultUnresponsiveRestart is Options.UnresponsiveRestart's default.
const DefaultUnresponsiveRestart = 30 * time.Second

// Options configure a master. Zero fields take the defaults named.
type Options struct {
	models.Options
	Sched       string        // rr (default), os, reuseport or sticky
	Policy      Policy        // restart policy
	WorkerProcs int           // GOMAXPROCS of each worker; default 1
	DrainIdle   time.Duration // see models.DefaultDrainIdle
	// Executable is the binary re-executed as a worker; default
	// os.Executable(). It must call RunWorker when IsWorker. Reloads
	// re-execute it too, so a binary rebuilt in place is picked up.
	Executable string
	Args       []string // its arguments (ignored by RunWorker); default "prefork-worker"
	MaxMemory  int64    // replace a worker whose resident memory exceeds this many bytes; 0 is no limit
	// ExitAfter makes every worker exit with status 1 this long after it
	// is ready, as an app with a bad deploy does: a crash loop, for the
	// restart policy to deal with. 0: workers live.
	ExitAfter time.Duration
	// UnresponsiveRestart is how long a worker may stay unresponsive (a
	// connection passed to it unacknowledged for a second: stopped,
	// wedged) before it is killed and restarted as after a crash, its
	// unacknowledged connections going to the others. Default 30s;
	// negative: never, it is only passed no more connections.
	UnresponsiveRestart time.Duration
	Control             string // control socket path; default ControlPath()
	NoControl           bool   // run without a control socket
	// NoHandover makes reuseport slots forget their socket: a replacement
	// binds its own and the old worker's closes with it, resetting what
	// the kernel queued there. Only to measure what the handover saves.
	NoHandover bool
}

// Slot states.
const (
	StateStarting = "starting" // spawned, not ready yet
	StateOnline   = "online"   // ready and taking connections
	StateDraining = "draining" // finishing its requests before it exits
	StateWaiting  = "waiting"  // dead, restart scheduled after a backoff
	StateErrored  = "errored"  // restarted too often; left down
	// StateUnresponsive: it left a connection unacknowledged for a
	// second (stopped, wedged) and is passed none until it answers.
	StateUnresponsive = "unresponsive"
	StateStopped      = "stopped"
)

// WorkerStatus is what `bench ps` shows for one worker process.
type WorkerStatus struct {
	Slot     int           `json:"slot"`
	PID      int           `json:"pid"`
	State    string        `json:"state"`
	Uptime   time.Duration `json:"uptime"`
	Restarts int           `json:"restarts"`
	Served   int64         `json:"served"`
	InFlight int64         `json:"in_flight"`
	Conns    int64         `json:"connections"` // open connections
	CPU      float64       `json:"cpu_percent"` // over the last second
	RSS      int64         `json:"rss_bytes"`
}

// Status is what the control socket reports: the server and each worker
// process, including workers draining after a reload.
type Status struct {
	Info    models.Info   `json:"info"`
	Uptime  time.Duration `json:"uptime"`
	Counter int64         `json:"counter"` // the shared counter
	// CPUs is how many CPUs the workers are placed on (the --cpus list,
	// else those the master may run on): what max means to bench scale.
	CPUs    int            `json:"cpus,omitempty"`
	Workers []WorkerStatus `json:"workers"`
}
