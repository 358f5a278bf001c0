//go:build linux

package prefork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
	"github.com/corebench/corebench/models/state"
)

// Master runs and supervises the workers of one prefork server.
type Master struct {
	o       Options
	log     *logSink
	exe     string
	started time.Time

	mu       sync.Mutex
	slots    []*slot
	procs    map[*proc]struct{} // every live process, including draining ones
	running  bool               // startup is over: a death now is a crash to restart
	stopping bool
	changed  chan struct{} // closed and replaced on every state change
	parked   []handoff     // connections waiting for any worker to be ready
	orphans  []*orphan     // reuseport: sockets of removed or errored slots, relayed by the master
	opMu     sync.Mutex    // one reload or scale at a time

	rotation atomic.Pointer[[]*proc] // serving workers in slot order
	next     atomic.Uint64           // rr: rotation position
	hid      atomic.Uint64           // handoff ids

	counter atomic.Int64 // the shared counter behind /counter/shared

	addr    string   // where the server listens, host:port
	ln      *os.File // rr, sticky: the master's listening socket, non-blocking, polled by the runtime
	lnFD    int      // os: the listening socket workers inherit; -1 otherwise
	reserve *os.File // reuseport: holds the port
	accepts sync.WaitGroup
	control *controlServer
	info    models.Info
}

// slot is a stable worker position 0..N-1; a restarted or reloaded worker
// keeps it.
type slot struct {
	index    int
	cur      *proc // the slot's worker, or its replacement while one starts
	prev     *proc // during a replacement: the worker being replaced, serving until cur is ready
	state    string
	unstable int // unstable restarts in a row
	restarts int // all restarts
	timer    *time.Timer
	// reuseport: the slot's listening socket. The master keeps it so that
	// a worker's death or replacement does not reset the connections in
	// its accept queue: the slot's next worker takes it over.
	sock int
}

// proc is one worker process.
type proc struct {
	slot    *slot
	cmd     *exec.Cmd
	pid     int
	ch      *ipc.Channel
	started time.Time
	last    lastLine

	// Guarded by Master.mu.
	ready bool
	trial bool // a replacement that has not reported ready: its death is not a crash
	cpu   float64
	rss   int64
	ticks float64 // CPU seconds at the last sample
	at    time.Time

	retiring atomic.Bool // leaving the rotation for good (shutdown, reload, scale)
	exited   chan struct{}
	exitErr  error

	mu      sync.Mutex
	dead    bool
	queue   chan handoff   // connections (and the shutdown) to send
	pending map[uint64]int // handoff id -> fd, sent and not yet acknowledged
	calls   ipc.Calls      // stats requests awaiting the worker's reply
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
	return &Master{o: o, log: newLogSink(o.Log), exe: exe, procs: map[*proc]struct{}{}, changed: make(chan struct{}), lnFD: -1}, nil
}

// Run pins the master to Options.CPUs, opens the listening socket and the
// control socket, starts the workers (each pinned to one of the CPUs),
// reports readiness through Options.Ready once every worker accepts,
// supervises them until ctx is done, then shuts down gracefully. It
// returns only when every worker has been reaped.
func (m *Master) Run(ctx context.Context) error {
	m.started = time.Now()
	// The master is pinned to the whole list, each worker to one CPU of it.
	if len(m.o.CPUs) > 0 {
		if err := affinity.PinProcess(m.o.CPUs); err != nil {
			return err
		}
		runtime.GOMAXPROCS(len(m.o.CPUs))
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
		m.info.Control = cs.path
		defer cs.close()
	}
	m.mu.Lock()
	for i := range m.o.Workers {
		s := &slot{index: i, sock: -1}
		m.slots = append(m.slots, s)
		if err := m.startLocked(s, false); err != nil {
			m.mu.Unlock()
			m.shutdown()
			return err
		}
	}
	m.mu.Unlock()

	if err := m.waitStartup(ctx); err != nil {
		m.shutdown()
		return err
	}
	m.mu.Lock()
	m.running = true
	m.mu.Unlock()
	if m.ln != nil {
		m.startAccepting(m.ln)
	}
	go m.sample(ctx)
	m.log.printf("%d workers online (%s), listening on http://%s", m.o.Workers, m.o.Sched, m.addr)
	m.o.Ready(m.info)

	<-ctx.Done()
	m.log.printf("shutting down: draining workers (grace %v)", m.o.Grace)
	return m.shutdown()
}

// Addr returns the address the server listens on, once Run has started.
func (m *Master) Addr() string { return m.addr }

func (m *Master) listen() error {
	switch m.o.Sched {
	case models.SchedRR, models.SchedSticky:
		ln, err := models.Listen(m.o.Addr)
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
		m.ln = os.NewFile(uintptr(fd), "listener")
	case models.SchedOS:
		ln, err := models.Listen(m.o.Addr)
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

// notifyLocked wakes everything waiting for a state change.
func (m *Master) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// waitFor blocks until cond (called with m.mu held) is true, ctx is done or
// limit passes.
func (m *Master) waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		m.mu.Lock()
		ok, ch := cond(), m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("timed out after %v", limit)
		}
	}
}

// waitStartup waits until every slot is online; a worker that dies before
// it is ready fails the start with what it last logged.
func (m *Master) waitStartup(ctx context.Context) error {
	var failed error
	err := m.waitFor(ctx, time.Minute, func() bool {
		online := 0
		for _, s := range m.slots {
			switch s.state {
			case StateOnline:
				online++
			case StateStopped:
				failed = fmt.Errorf("worker %d exited while starting: %v", s.index, s.cur.exitErr)
				if l := s.cur.last.get(); l != "" {
					failed = fmt.Errorf("%w (it said: %s)", failed, l)
				}
				return true
			}
		}
		return online == len(m.slots)
	})
	if failed != nil {
		return failed
	}
	if err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	return nil
}

// cpusFor returns the CPUs worker slot i is pinned to: one CPU each, taken
// round-robin from the list, as nginx's worker_cpu_affinity auto does.
func (m *Master) cpusFor(i int) []int {
	if len(m.o.CPUs) == 0 {
		return nil
	}
	return []int{m.o.CPUs[i%len(m.o.CPUs)]}
}

// startLocked spawns a worker for s. A replacement (reload, memory limit)
// becomes s.cur while the worker it replaces, now s.prev, keeps serving
// until the replacement is ready.
func (m *Master) startLocked(s *slot, replace bool) error {
	mine, theirs, err := ipc.Pair()
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(workerConfig{
		Slot: s.index, Sched: m.o.Sched, Addr: m.addr, Chaos: m.o.Chaos, CPUIters: m.o.CPUIters,
		Procs: m.o.WorkerProcs, Grace: m.o.Grace, DrainIdle: m.o.DrainIdle, Inherit: s.sock >= 0,
		State: m.o.State, StateKey: fmt.Sprintf("corebench:%d:", m.info.PID),
	})
	cmd := exec.Command(m.exe, m.o.Args...)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(cfg))
	cmd.ExtraFiles = []*os.File{theirs}
	var inherited *os.File
	switch {
	case m.lnFD >= 0:
		inherited, err = fileOf(m.lnFD, "listener")
	case s.sock >= 0:
		inherited, err = fileOf(s.sock, "reuseport-listener")
	}
	if err != nil {
		mine.Close()
		theirs.Close()
		return err
	}
	if inherited != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, inherited)
	}
	// A worker dies with the master, even when the master is SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		mine.Close()
		theirs.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = affinity.StartPinned(cmd, m.cpusFor(s.index))
	theirs.Close()
	pw.Close()
	if inherited != nil {
		inherited.Close()
	}
	if err != nil {
		mine.Close()
		pr.Close()
		return fmt.Errorf("start worker %d: %w", s.index, err)
	}
	p := &proc{
		slot: s, cmd: cmd, pid: cmd.Process.Pid, ch: mine, started: time.Now(), trial: replace,
		exited: make(chan struct{}), queue: make(chan handoff, 256),
		pending: map[uint64]int{},
	}
	if replace {
		s.prev = s.cur
	} else {
		s.state = StateStarting
	}
	s.cur = p
	m.procs[p] = struct{}{}
	logged := make(chan struct{})
	go func() {
		m.log.copyLines(pr, fmt.Sprintf("[worker %d pid %d] ", s.index, p.pid), &p.last)
		close(logged)
	}()
	go m.readLoop(p)
	go m.sendLoop(p)
	go m.waitLoop(p, pr, logged)
	return nil
}

// waitLoop reaps p and decides what happens to its slot.
func (m *Master) waitLoop(p *proc, logs *os.File, logged chan struct{}) {
	err := p.cmd.Wait()
	// Its last words explain a crash; they are in the pipe unless
	// something it started still holds the pipe open.
	select {
	case <-logged:
	case <-time.After(time.Second):
	}
	logs.Close()
	p.ch.Close()
	uptime := time.Since(p.started)

	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()

	m.mu.Lock()
	p.exitErr = err
	if err == nil {
		p.exitErr = errors.New("exit status 0")
	}
	delete(m.procs, p)
	p.ready = false
	s := p.slot
	switch {
	case s.prev == p:
		// A replaced worker finished draining.
		s.prev = nil
	case s.cur != p:
		// Its slot was removed (scale).
	case p.trial:
		// A replacement died before it was ready: the worker it was to
		// replace keeps the slot, and the reload or scale that started
		// it reports the failure.
		s.cur, s.prev = s.prev, nil
		if s.cur == nil {
			s.state = StateStopped
		}
	case m.running && !m.stopping && !p.retiring.Load():
		m.crashedLocked(s, uptime)
	default:
		// Shutting down, or still starting up (waitStartup reports it).
		s.state = StateStopped
	}
	m.rebuildLocked()
	m.notifyLocked()
	m.mu.Unlock()

	close(p.exited)
	m.rescue(p)
}

// crashedLocked applies the restart policy to a slot whose worker died.
func (m *Master) crashedLocked(s *slot, uptime time.Duration) {
	p := s.cur
	var delay time.Duration
	var errored bool
	s.unstable, delay, errored = m.o.Policy.Next(uptime, s.unstable)
	if errored {
		s.state = StateErrored
		m.adoptLocked(s)
		m.log.printf("ERROR: worker %d (pid %d) %v after %v, its %d%s death in a row within --min-uptime %v (--max-restarts %d); giving up on slot %d, serving with the others",
			s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), s.unstable, ordinal(s.unstable), m.o.Policy.MinUptime, m.o.Policy.MaxRestarts, s.index)
		return
	}
	s.state = StateWaiting
	s.restarts++
	m.log.printf("worker %d (pid %d) %v after %v; restarting in %v", s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), delay)
	restart := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.stopping || s.cur != p || s.state != StateWaiting {
			return
		}
		if err := m.startLocked(s, false); err != nil {
			m.log.printf("ERROR: %v; slot %d is errored", err, s.index)
			s.state = StateErrored
			m.adoptLocked(s)
			m.notifyLocked()
		}
	}
	if delay == 0 {
		go restart()
		return
	}
	s.timer = time.AfterFunc(delay, restart)
}

// serving returns the process that serves slot s now: its worker once
// ready, else the one it replaces.
func (s *slot) serving() *proc {
	for _, p := range []*proc{s.cur, s.prev} {
		if p != nil && p.ready && !p.retiring.Load() {
			return p
		}
	}
	return nil
}

// rebuildLocked recomputes the rotation: the serving worker of each slot,
// in slot order.
func (m *Master) rebuildLocked() {
	var rot []*proc
	for _, s := range m.slots {
		if p := s.serving(); p != nil {
			rot = append(rot, p)
		}
	}
	m.rotation.Store(&rot)
}

// readLoop handles what worker p sends until its channel closes.
func (m *Master) readLoop(p *proc) {
	for {
		msg, fd, err := p.ch.Recv()
		if err != nil {
			p.calls.Close()
			return
		}
		if fd >= 0 && (msg.Kind != ipc.KindReady || m.o.Sched != models.SchedReusePort) {
			closeFD(fd) // only a reuseport worker's Ready carries one
			fd = -1
		}
		switch msg.Kind {
		case ipc.KindReady:
			m.ready(p, fd)
		case ipc.KindConnAck:
			p.mu.Lock()
			hfd, ok := p.pending[msg.ID]
			delete(p.pending, msg.ID)
			p.mu.Unlock()
			if !ok {
				continue
			}
			if msg.Val == 1 {
				closeFD(hfd) // the worker has its own descriptor now
			} else {
				m.dispatch(handoff{id: msg.ID, fd: hfd}, p)
			}
		case ipc.KindCounterAdd:
			v := m.counter.Add(msg.Val)
			p.ch.Send(ipc.Msg{Kind: ipc.KindCounterValue, ID: msg.ID, Val: v}, -1)
		case ipc.KindWorkersAsk:
			m.mu.Lock()
			n := m.info.Workers
			m.mu.Unlock()
			p.ch.Send(ipc.Msg{Kind: ipc.KindWorkerCount, ID: msg.ID, Val: int64(n)}, -1)
		case ipc.KindStats:
			p.calls.Resolve(msg)
		case ipc.KindSend:
			m.route(p, msg)
		}
	}
}

// ready records that p accepts connections; fd is a first reuseport
// worker's own socket, which the master keeps for the slot.
func (m *Master) ready(p *proc, fd int) {
	m.mu.Lock()
	s := p.slot
	if fd >= 0 {
		if s.sock < 0 && !m.o.NoHandover {
			s.sock = fd
		} else {
			closeFD(fd)
		}
	}
	p.ready = true
	if s.cur == p {
		p.trial = false
		if s.state != StateOnline {
			s.state = StateOnline
			if s.restarts > 0 {
				m.log.printf("worker %d back online (pid %d)", s.index, p.pid)
			}
		}
	}
	m.rebuildLocked()
	parked := m.parked
	m.parked = nil
	m.notifyLocked()
	m.mu.Unlock()
	for _, h := range parked {
		m.dispatch(h, nil)
	}
}

// route forwards a worker-to-worker message, as Node's cluster does: the
// master is the only hub.
func (m *Master) route(from *proc, msg ipc.Msg) {
	out := ipc.Msg{Kind: ipc.KindMessage, Aux: int64(from.slot.index), Data: msg.Data}
	m.mu.Lock()
	var to []*proc
	for _, s := range m.slots {
		if p := s.serving(); p != nil && p != from && (msg.Aux < 0 || int64(s.index) == msg.Aux) {
			to = append(to, p)
		}
	}
	m.mu.Unlock()
	for _, p := range to {
		p.ch.Send(out, -1)
	}
}

// shutdown stops accepting, tells every worker to drain, waits for them
// within the grace period, kills what is left and reaps everything.
func (m *Master) shutdown() error {
	m.mu.Lock()
	m.stopping = true
	for _, s := range m.slots {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
	orphans := m.orphans
	m.orphans = nil
	m.mu.Unlock()
	if m.ln != nil {
		m.ln.Close()
	}
	for _, o := range orphans {
		o.stop()
	}
	m.accepts.Wait()
	m.mu.Lock()
	live := make([]*proc, 0, len(m.procs))
	for p := range m.procs {
		live = append(live, p)
	}
	parked := m.parked
	m.parked = nil
	m.mu.Unlock()
	for _, h := range parked {
		closeFD(h.fd)
	}
	for _, p := range live {
		m.retire(p)
	}
	killed := m.reap(live, m.o.Grace+time.Second)
	m.mu.Lock()
	for _, s := range m.slots {
		s.state = StateStopped
		if s.sock >= 0 {
			closeFD(s.sock)
			s.sock = -1
		}
	}
	for _, o := range orphans {
		closeFD(o.sock)
	}
	m.mu.Unlock()
	if len(killed) > 0 {
		return fmt.Errorf("killed workers %v: still busy after the %v grace period", killed, m.o.Grace)
	}
	return nil
}

// reap waits up to limit for procs to exit, then kills the rest, and
// returns their pids once they are reaped.
func (m *Master) reap(procs []*proc, limit time.Duration) []int {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var killed []int
wait:
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-deadline.C:
			for _, q := range procs {
				select {
				case <-q.exited:
				default:
					q.cmd.Process.Kill()
					killed = append(killed, q.pid)
				}
			}
			break wait
		}
	}
	for _, p := range procs {
		<-p.exited
	}
	return killed
}

// retire takes p out of the rotation and tells it to drain and exit.
// The shutdown goes through p's send queue, behind the connections already
// queued for it, so none of those is sent to a worker that stopped taking
// them.
func (m *Master) retire(p *proc) {
	p.mu.Lock()
	p.retiring.Store(true) // under p.mu: no offer succeeds after this
	dead := p.dead
	p.mu.Unlock()
	m.mu.Lock()
	m.rebuildLocked()
	m.mu.Unlock()
	if dead {
		return
	}
	select {
	case p.queue <- handoff{fd: -1}:
	case <-p.exited:
	}
}

func closeFD(fd int) { unix.Close(fd) }

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}

// dupFD returns a close-on-exec duplicate of ln's socket, non-blocking
// like the original.
func dupFD(ln *net.TCPListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return dup, derr
}

// fileOf wraps a duplicate of fd in an *os.File, to pass to a child; the
// caller closes it after the start.
func fileOf(fd int, name string) (*os.File, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(d), name), nil
}

// Run is New followed by Master.Run.
func Run(ctx context.Context, o Options) error {
	m, err := New(o)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
