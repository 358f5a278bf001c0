// Package control is the prefork master's control socket as its clients
// see it: the wire protocol (Request, Reply), what a master reports
// (Status, Event) and the Client that `bench ps`, `top`, `reload`,
// `scale`, `logs` and the scenarios use. The server side is the master's
// (models/prefork); this package is apart so that a program can drive a
// master without importing the model that runs one.
//
// The socket is a Unix socket of mode 0600 in a directory of mode 0700
// owned by the user (ControlDir), like PM2's daemon socket; the master
// also checks each client's uid. The protocol is one JSON Request line,
// answered by JSON Reply lines until one says Done. While it answers, the
// master also sends a heartbeat line as often as the client asks (Beat),
// so that a client tells a master that is busy (a long reload, a quiet
// log) from one that is stopped or wedged, and gives up on the latter
// within its Timeout instead of hanging.
package control

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

// Request is what a control client asks.
type Request struct {
	Op       string        `json:"op"` // status, reload, scale, logs, watch
	Parallel int           `json:"parallel,omitempty"`
	Workers  int           `json:"workers,omitempty"`
	From     int           `json:"from,omitempty"` // scale: only if the server has this many workers (0: any)
	Follow   bool          `json:"follow,omitempty"`
	Recent   bool          `json:"recent,omitempty"`  // watch: the recent events first
	Beat     time.Duration `json:"beat_ns,omitempty"` // send a heartbeat this often while answering; 0: none
}

// Reply is one line of an answer. Done ends it; Error says it failed.
type Reply struct {
	Status   *Status `json:"status,omitempty"`
	Progress string  `json:"progress,omitempty"`
	Log      *string `json:"log,omitempty"`
	Event    *Event  `json:"event,omitempty"`
	Watching bool    `json:"watching,omitempty"` // watch: subscribed, events follow
	Alive    bool    `json:"alive,omitempty"`    // a heartbeat, nothing else
	Done     bool    `json:"done,omitempty"`
	Error    string  `json:"error,omitempty"`
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
