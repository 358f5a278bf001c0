package prefork

import (
	"time"

	"github.com/corebench/corebench/models"
)

// Options configure a master. Zero fields take the defaults named.
type Options struct {
	models.Options
	Sched       string        // rr (default), os, reuseport or sticky
	Policy      Policy        // restart policy
	WorkerProcs int           // GOMAXPROCS of each worker; default 1
	DrainIdle   time.Duration // see models.DefaultDrainIdle
	// Executable is the binary re-executed as a worker; default
	// os.Executable(). It must call RunWorker when IsWorker.
	Executable string
	Args       []string // its arguments (ignored by RunWorker); default "prefork-worker"
}

// Slot states.
const (
	StateStarting = "starting" // spawned, not ready yet
	StateOnline   = "online"   // ready and taking connections
	StateDraining = "draining" // finishing its requests before it exits
	StateWaiting  = "waiting"  // dead, restart scheduled after a backoff
	StateErrored  = "errored"  // restarted too often; left down
	StateStopped  = "stopped"
)

// WorkerStatus is what `bench ps` shows for one slot.
type WorkerStatus struct {
	Slot     int           `json:"slot"`
	PID      int           `json:"pid"`
	State    string        `json:"state"`
	Uptime   time.Duration `json:"uptime"`
	Restarts int           `json:"restarts"`
	Served   int64         `json:"served"`
	InFlight int64         `json:"in_flight"`
}
