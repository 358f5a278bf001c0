package prefork

import (
	"time"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
)

// ErrUnsupported is what every operation returns on an OS other than Linux.
var ErrUnsupported = control.ErrUnsupported

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
	Control             string // control socket path; default a new one in control.ControlDir()
	NoControl           bool   // run without a control socket
	// NoHandover makes reuseport slots forget their socket: a replacement
	// binds its own and the old worker's closes with it, resetting what
	// the kernel queued there. Only to measure what the handover saves.
	NoHandover bool
}
