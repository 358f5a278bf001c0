//go:build linux

package prefork

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
	"github.com/corebench/corebench/models/state"
	"github.com/corebench/corebench/workload"
)

// WorkerEnv marks a re-executed worker process and carries its
// configuration as JSON. A binary that runs prefork masters checks
// IsWorker first thing in main and, if set, runs RunWorker instead.
const WorkerEnv = "COREBENCH_PREFORK_WORKER"

// Descriptors a worker inherits.
const (
	fdIPC      = 3 // its end of the SOCK_SEQPACKET channel to the master
	fdListener = 4 // the shared listening socket (sched os)
)

// workerConfig is what the master tells a worker through WorkerEnv.
type workerConfig struct {
	Slot      int             `json:"slot"`
	Sched     string          `json:"sched"`
	Addr      string          `json:"addr"`
	Chaos     bool            `json:"chaos"`
	CPUIters  int             `json:"cpu_iters"`
	Procs     int             `json:"procs"`
	Grace     time.Duration   `json:"grace"`
	DrainIdle time.Duration   `json:"drain_idle"`
	Inherit   bool            `json:"inherit"` // reuseport: fd 4 is the slot's socket
	State     string          `json:"state"`   // store URL for the shared counter and sessions
	StateKey  string          `json:"state_key"`
	EventLoop bool            `json:"event_loop,omitempty"` // handler code one request at a time
	Startup   time.Duration   `json:"startup,omitempty"`    // simulated loading before it is ready
	ExitAfter time.Duration   `json:"exit_after,omitempty"` // exit with status 1 this long after it is ready
	Timeouts  models.Timeouts `json:"timeouts"`             // what each client may take
}

// IsWorker reports whether this process was started by a master as one of
// its workers.
func IsWorker() bool { return os.Getenv(WorkerEnv) != "" }

// ErrMasterGone is returned by RunWorker when the master disappeared
// without saying goodbye; the worker must exit at once.
var ErrMasterGone = errors.New("master is gone; exiting")

// RunWorker runs this process as a prefork worker: it serves until ctx is
// done or the master asks it to shut down, then drains. It returns
// ErrMasterGone, without draining, when the master's end of the IPC channel
// closes: a worker never outlives its master.
func RunWorker(ctx context.Context) error {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(os.Getenv(WorkerEnv)), &cfg); err != nil {
		return fmt.Errorf("bad %s: %v", WorkerEnv, err)
	}
	os.Unsetenv(WorkerEnv)
	runtime.GOMAXPROCS(max(cfg.Procs, 1))

	ch, err := ipc.FromFile(os.NewFile(fdIPC, "ipc"))
	if err != nil {
		return fmt.Errorf("worker %d: ipc channel: %w", cfg.Slot, err)
	}
	w := &worker{cfg: cfg, ch: ch}

	// Every worker takes connections the master passes; under os and
	// reuseport it also accepts on its own listener (the master passes
	// connections only from sockets it relays, see orphan).
	w.handoff = newHandoffListener(cfg.Addr)
	var ln net.Listener
	switch cfg.Sched {
	case models.SchedRR, models.SchedSticky:
	case models.SchedOS:
		f := os.NewFile(fdListener, "listener")
		ln, err = net.FileListener(f)
		f.Close()
	case models.SchedReusePort:
		// A first worker binds its own socket; its replacements take
		// over the one the master kept for the slot, accept queue and all.
		if cfg.Inherit {
			f := os.NewFile(fdListener, "listener")
			ln, err = net.FileListener(f)
			f.Close()
		} else {
			ln, err = listenReusePort(cfg.Addr)
		}
	default:
		err = fmt.Errorf("unknown scheduling policy %q", cfg.Sched)
	}
	if err != nil {
		return fmt.Errorf("worker %d: %w", cfg.Slot, err)
	}
	own := ln
	if ln == nil {
		ln = w.handoff
	} else {
		ln = w.handoff.merge(ln)
	}

	wcfg := workload.Config{Slot: cfg.Slot, Chaos: cfg.Chaos, CPUIters: cfg.CPUIters, Shared: w, About: w.about}
	if cfg.State != "" {
		st, err := state.Open(ctx, cfg.State, cfg.StateKey)
		if err != nil {
			return fmt.Errorf("worker %d: %w", cfg.Slot, err)
		}
		defer st.Close()
		wcfg.Shared, wcfg.Sessions = st, st
	}
	if cfg.EventLoop {
		wcfg.Loop = &workload.EventLoop{}
	}
	w.h = workload.New(wcfg)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	lost := make(chan struct{})
	go w.readLoop(stop, lost)

	if err := models.Startup(ctx, cfg.Startup); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() {
		served <- models.Serve(ctx, ln, w.h.Serving(), models.ServeOptions{
			Grace:     cfg.Grace,
			DrainIdle: cfg.DrainIdle,
			Conns:     &w.conns,
			Log:       os.Stderr,
			Timeouts:  cfg.Timeouts,
			Serving: func() {
				w.ch.Send(ipc.Msg{Kind: ipc.KindReady}, listenerFD(own, cfg))
				if cfg.ExitAfter > 0 {
					// A bad deploy: the app dies soon after it starts, every time.
					time.AfterFunc(cfg.ExitAfter, func() {
						fmt.Fprintf(os.Stderr, "worker %d (pid %d): --exit-after %v: exiting with status 1\n", cfg.Slot, os.Getpid(), cfg.ExitAfter)
						os.Exit(1)
					})
				}
			},
		})
	}()
	select {
	case err := <-served:
		return err
	case <-lost:
		return ErrMasterGone
	}
}

// listenerFD returns the descriptor of a reuseport worker's own new
// socket, to send to the master with ipc.KindReady, or -1.
func listenerFD(ln net.Listener, cfg workerConfig) int {
	if cfg.Sched != models.SchedReusePort || cfg.Inherit {
		return -1
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok || tl == nil {
		return -1
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}

// worker is the worker's side of the IPC channel.
type worker struct {
	cfg     workerConfig
	ch      *ipc.Channel
	h       *workload.Handler
	handoff *handoffListener // connections passed by the master (merged with its own listener under os and reuseport)

	conns atomic.Int64 // open connections
	calls ipc.Calls    // requests to the master awaiting a reply
}

// readLoop handles what the master sends until the channel closes.
func (w *worker) readLoop(shutdown func(), lost chan struct{}) {
	for {
		m, fd, err := w.ch.Recv()
		if errors.Is(err, ipc.ErrFDDropped) {
			if m.Kind == ipc.KindConn {
				w.ch.Send(ipc.Msg{Kind: ipc.KindConnAck, ID: m.ID, Val: ipc.ConnNoFDs}, -1)
			}
			continue
		}
		if err != nil {
			w.calls.Close()
			close(lost)
			return
		}
		switch m.Kind {
		case ipc.KindConn:
			w.ch.Send(ipc.Msg{Kind: ipc.KindConnAck, ID: m.ID, Val: w.take(fd)}, -1)
		case ipc.KindCounterValue, ipc.KindWorkerCount:
			w.calls.Resolve(m)
		case ipc.KindStatsRequest:
			served, inFlight := w.h.Stats()
			w.ch.Send(ipc.Msg{Kind: ipc.KindStats, ID: m.ID, Val: served, Aux: inFlight, Data: binary.LittleEndian.AppendUint64(nil, uint64(w.conns.Load()))}, -1)
		case ipc.KindShutdown:
			shutdown()
		case ipc.KindMessage:
			fmt.Fprintf(os.Stderr, "message from worker %d: %s\n", m.Aux, m.Data)
		}
		if fd >= 0 && m.Kind != ipc.KindConn {
			closeFD(fd)
		}
	}
}

// take hands a passed connection to the HTTP server and reports
// ipc.ConnTaken, or why this worker refuses it, so that the master gives
// it to another: ipc.ConnNoFDs when it has no descriptor to spare,
// ipc.ConnRefused when it is draining or the fd is bad.
func (w *worker) take(fd int) int64 {
	if fd < 0 {
		return ipc.ConnRefused
	}
	f := os.NewFile(uintptr(fd), "conn")
	c, err := net.FileConn(f) // a dup: one more descriptor
	f.Close()
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ipc.ConnNoFDs
	case err != nil:
		return ipc.ConnRefused
	}
	if !w.handoff.deliver(c) {
		c.Close()
		return ipc.ConnRefused
	}
	return ipc.ConnTaken
}

// Add implements workload.Counter with the counter the master holds.
func (w *worker) Add(ctx context.Context, delta int64) (int64, error) {
	m, err := w.call(ctx, ipc.Msg{Kind: ipc.KindCounterAdd, Val: delta})
	return m.Val, err
}

// about reports the worker count for workload.AboutPath. Only the master
// knows it, and it changes with bench scale, so each asks; the endpoint is
// off the measured path.
func (w *worker) about(ctx context.Context) (workload.About, error) {
	m, err := w.call(ctx, ipc.Msg{Kind: ipc.KindWorkersAsk})
	return workload.About{Model: models.Prefork, Sched: w.cfg.Sched, Workers: int(m.Val)}, err
}

// call sends m to the master and waits for the reply.
func (w *worker) call(ctx context.Context, m ipc.Msg) (ipc.Msg, error) {
	return w.calls.Call(ctx, m, func(m ipc.Msg) error { return w.ch.Send(m, -1) })
}

// handoffListener is the net.Listener of an rr worker: its connections
// arrive over the IPC channel instead of from accept(2). Merged with a real
// listener, it serves both.
type handoffListener struct {
	conns  chan net.Conn
	closed chan struct{} // Close was called: refuse passed connections
	done   chan struct{} // closed after closed, once no accepted connection is left to hand over
	once   sync.Once
	addr   net.Addr
	own    net.Listener // merged: the worker's own listener, or nil
	errs   chan error   // merged: what the own listener's Accept failed with
}

// merge returns l serving also the connections own accepts. A goroutine
// moves them over: the one extra step a connection costs, not a request.
//
// A connection the goroutine has taken from the kernel is out of the
// socket's accept queue, where under reuseport handover the replacement
// worker would have found it, so it is handed to the HTTP server even when
// Close comes meanwhile: Accept reports the listener closed only once the
// goroutine has stopped (done). Dropping it instead reset a connection now
// and then at every rolling reload.
func (l *handoffListener) merge(own net.Listener) net.Listener {
	l.own, l.errs = own, make(chan error, 1)
	go func() {
		defer close(l.done)
		for {
			c, err := own.Accept()
			if err != nil {
				select {
				case <-l.closed:
					return // Close closed own
				default:
				}
				select {
				case l.errs <- err: // http.Server retries what is temporary
				case <-l.closed:
					return
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			// Blocks until Accept takes it, which the HTTP server does
			// until Accept fails; only errs makes it fail before done, and
			// then the server is gone and the worker exits anyway.
			l.conns <- c
		}
	}()
	return l
}

func newHandoffListener(addr string) *handoffListener {
	a, _ := net.ResolveTCPAddr("tcp", addr)
	return &handoffListener{conns: make(chan net.Conn), closed: make(chan struct{}), done: make(chan struct{}), addr: a}
}

// deliver gives c to a waiting Accept and reports whether one took it. The
// channel is unbuffered on purpose: a connection is acknowledged to the
// master only once the HTTP server owns it, so none is stranded in a queue
// when the worker starts draining.
func (l *handoffListener) deliver(c net.Conn) bool {
	select {
	case <-l.closed:
		return false
	default:
	}
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already accepted from the own
// listener are still returned by Accept (see merge).
func (l *handoffListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		if l.own != nil {
			l.own.Close()
		} else {
			close(l.done)
		}
	})
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }
