//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
	"github.com/corebench/corebench/models/state"
)

// Master runs and supervises the workers of one prefork server.
//
// One goroutine, the owner (own), holds the supervision state: the slots
// and their processes, restarts, parked connections, the orphan sockets,
// whether the server listens, and which reload or scale is under way.
// Other goroutines (the reapers, the IPC readers, the timers, the
// sampler, Reload, Scale, Status) hand it what to do through do and wait
// until it has, as cloudflare/tableflip's run loop owns its upgrader, so
// none of that state has a lock and every change happens in one order,
// the order of the events. Spawning a worker for scale, reaping, waiting
// and talking to workers happen outside it.
//
// The data path does not go through the owner: a round trip per
// connection would cost throughput. The accept loops, dispatch and each
// worker's send and read loops read the view the owner publishes (the
// rotation and the accept gate), and each worker's connection state is
// under its own proc.mu.
type Master struct {
	o       Options // o.Workers changes with a scale, on the owner
	log     *logSink
	env     env
	events  *eventBus
	started time.Time

	inbox   chan func()   // what the owner runs, one at a time
	stopped chan struct{} // closed when the owner stops: Run has returned

	// The owner's: read and written only in functions it runs.
	slots    []*slot
	procs    map[*proc]struct{} // every live process, including draining ones
	running  bool               // startup is over: a first worker that exits by itself is a crash now, not a failed start
	stopping bool
	paused   bool          // not listening: no worker can serve (pauseIfDown)
	parked   []handoff     // connections waiting for any worker to be ready
	orphans  []*orphan     // reuseport: sockets of removed or errored slots, relayed by the master
	op       string        // the reload, scale or replacement under way (claim); one at a time
	changed  chan struct{} // closed and replaced after whatever the owner runs while waitFor waits
	waited   bool          // someone waits on changed
	looked   bool          // what the owner runs now only registered a waiter: no change
	info     models.Info   // Workers changes with a scale

	// The data path's: the owner publishes view; the rest are counters.
	view    atomic.Pointer[view]
	next    atomic.Uint64 // rr: rotation position
	counter atomic.Int64  // the shared counter behind /counter/shared

	quit    chan struct{} // closed when shutdown begins
	addr    string        // where the server listens, host:port
	ln      *os.File      // rr, sticky: the master's listening socket, non-blocking, polled by the runtime
	lnSock  int           // rr, sticky: ln's descriptor; -1 otherwise
	lnFD    int           // os: the listening socket workers inherit; -1 otherwise
	reserve *os.File      // reuseport: holds the port
	accepts sync.WaitGroup
	control *controlServer
	cpus    int // CPUs the workers are placed on (Status.CPUs)
}

// New validates o and returns a master ready to Run.
func New(o Options) (*Master, error) {
	o.Options = o.Options.WithDefaults()
	if o.Sched == "" {
		o.Sched = models.SchedRR
	}
	switch o.Sched {
	case models.SchedRR, models.SchedOS, models.SchedReusePort, models.SchedSticky:
	default:
		return nil, fmt.Errorf("unknown scheduling policy %q: want rr, os, reuseport or sticky", o.Sched)
	}
	if o.WorkerProcs <= 0 {
		o.WorkerProcs = 1
	}
	o.Policy = o.Policy.withDefaults()
	if o.UnresponsiveRestart == 0 {
		o.UnresponsiveRestart = DefaultUnresponsiveRestart
	}
	exe := o.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find own executable to re-execute as workers: %w", err)
		}
	}
	if len(o.Args) == 0 {
		o.Args = []string{"prefork-worker"}
	}
	log := newLogSink(o.Log)
	return newMaster(o, log, osEnv(exe, o.Args, log)), nil
}

// newMaster returns a master of validated options whose workers e starts.
func newMaster(o Options, log *logSink, e env) *Master {
	m := &Master{o: o, log: log, env: e, events: newEventBus(), procs: map[*proc]struct{}{}, changed: make(chan struct{}), lnFD: -1, lnSock: -1,
		inbox: make(chan func()), stopped: make(chan struct{}), quit: make(chan struct{})}
	m.view.Store(&view{open: true, wake: make(chan struct{})})
	go m.own()
	return m
}

// Run pins the master to Options.CPUs, opens the listening socket and the
// control socket, starts the workers (each pinned to one of the CPUs),
// reports readiness through Options.Ready once every worker accepts,
// supervises them until ctx is done, then shuts down gracefully. It
// returns only when every worker has been reaped.
func (m *Master) Run(ctx context.Context) error {
	defer close(m.stopped) // last: the control socket and the shutdown need the owner
	m.started = time.Now()
	// The master is pinned to the whole list, each worker to one CPU of it.
	if len(m.o.CPUs) > 0 {
		if err := affinity.PinProcess(m.o.CPUs); err != nil {
			return err
		}
		runtime.GOMAXPROCS(len(m.o.CPUs))
	}
	m.cpus = len(m.o.CPUs)
	if cpus, err := affinity.Allowed(); m.cpus == 0 && err == nil {
		m.cpus = len(cpus)
	}
	if m.o.State != "" {
		// Fail with one clear line before any worker does.
		st, err := state.Open(ctx, m.o.State, "")
		if err != nil {
			return err
		}
		st.Close()
	}
	if err := m.listen(); err != nil {
		return err
	}
	defer m.closeListeners()
	m.info = models.Info{Addr: m.addr, Model: models.Prefork, Sched: m.o.Sched, Workers: m.o.Workers, PID: os.Getpid()}
	if !m.o.NoControl {
		cs, err := m.serveControl(m.o.Control)
		if err != nil {
			return err
		}
		m.control = cs
		m.do(func() { m.info.Control = cs.path }) // Status may read it already
		defer cs.close()
	}
	if err := m.start(ctx); err != nil {
		return err
	}
	if m.ln != nil {
		m.startAccepting(m.ln, m.quit)
	}
	go m.sample(ctx)
	var info models.Info
	m.do(func() { info = m.info })
	m.log.printf("%d workers online (%s), listening on http://%s", info.Workers, m.o.Sched, m.addr)
	m.o.Ready(info)

	<-ctx.Done()
	m.log.printf("shutting down: draining workers (grace %v)", m.o.Grace)
	return m.shutdown()
}

// Addr returns the address the server listens on, once Run has started.
func (m *Master) Addr() string { return m.addr }

func (m *Master) listen() error {
	switch m.o.Sched {
	case models.SchedRR, models.SchedSticky:
		ln, err := listenFixed(m.o.Addr)
		if err != nil {
			return err
		}
		m.addr = ln.Addr().String()
		// A net.Listener's RawConn cannot wait for readability; an
		// *os.File of a non-blocking socket can, so the accept loop
		// runs accept4 itself on a dup of the listener.
		fd, err := dupFD(ln.(*net.TCPListener))
		ln.Close()
		if err != nil {
			return fmt.Errorf("listener fd: %w", err)
		}
		m.ln, m.lnSock = os.NewFile(uintptr(fd), "listener"), fd
	case models.SchedOS:
		ln, err := listenFixed(m.o.Addr)
		if err != nil {
			return err
		}
		// Keep a bare descriptor to hand down: the master never accepts,
		// and an *os.File of it would put it in the master's poller, to
		// be woken by every connection for nothing.
		m.lnFD, err = dupFD(ln.(*net.TCPListener))
		m.addr = ln.Addr().String()
		ln.Close()
		if err != nil {
			return fmt.Errorf("listener fd: %w", err)
		}
	case models.SchedReusePort:
		f, addr, err := reservePort(m.o.Addr)
		if err != nil {
			return err
		}
		m.reserve, m.addr = f, addr
	}
	return nil
}

func (m *Master) closeListeners() {
	for _, f := range []*os.File{m.ln, m.reserve} {
		if f != nil {
			f.Close()
		}
	}
	if m.lnFD >= 0 {
		closeFD(m.lnFD)
	}
}

// readLoop handles what worker p sends until its channel closes.
func (m *Master) readLoop(p *proc) {
	for {
		msg, fd, err := p.ch.Recv()
		if err != nil && !errors.Is(err, ipc.ErrFDDropped) { // a dropped fd: the message stands without it
			p.calls.Close()
			return
		}
		if fd >= 0 && (msg.Kind != ipc.KindReady || m.o.Sched != models.SchedReusePort) {
			closeFD(fd) // only a reuseport worker's Ready carries one
			fd = -1
		}
		switch msg.Kind {
		case ipc.KindReady:
			if !m.do(func() { m.ready(p, fd) }) && fd >= 0 {
				closeFD(fd)
			}
		case ipc.KindConnAck:
			p.mu.Lock()
			hfd, ok := p.pending[msg.ID]
			delete(p.pending, msg.ID)
			flagged := p.flagged
			p.mu.Unlock()
			if ok {
				m.acked(p, hfd, msg.Val, flagged)
			}
		case ipc.KindCounterAdd:
			v := m.counter.Add(msg.Val)
			p.ch.Send(ipc.Msg{Kind: ipc.KindCounterValue, ID: msg.ID, Val: v}, -1)
		case ipc.KindWorkersAsk:
			var n int
			m.do(func() { n = m.info.Workers })
			p.ch.Send(ipc.Msg{Kind: ipc.KindWorkerCount, ID: msg.ID, Val: int64(n)}, -1)
		case ipc.KindStats:
			p.calls.Resolve(msg)
		case ipc.KindSend:
			m.route(p, msg)
		}
	}
}

// route forwards a worker-to-worker message, as Node's cluster does: the
// master is the only hub.
func (m *Master) route(from *proc, msg ipc.Msg) {
	out := ipc.Msg{Kind: ipc.KindMessage, Aux: int64(from.slot.index), Data: msg.Data}
	var to []*proc
	m.do(func() {
		for _, s := range m.slots {
			if p := s.serving(); p != nil && p != from && (msg.Aux < 0 || int64(s.index) == msg.Aux) {
				to = append(to, p)
			}
		}
	})
	for _, p := range to {
		p.ch.Send(out, -1)
	}
}

// Run is New followed by Master.Run.
func Run(ctx context.Context, o Options) error {
	m, err := New(o)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
