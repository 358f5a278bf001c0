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
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models"
)

// Master runs and supervises the workers of one prefork server.
type Master struct {
	o   Options
	log *logSink
	exe string

	mu       sync.Mutex
	slots    []*slot
	procs    map[*proc]struct{} // every live process, including draining ones
	running  bool               // startup is over: a death now is a crash to restart
	stopping bool
	changed  chan struct{} // closed and replaced on every state change
	parked   []handoff     // rr: connections waiting for any worker to be ready

	rotation atomic.Pointer[[]*proc] // rr: ready workers in slot order
	next     atomic.Uint64           // rr: rotation position
	hid      atomic.Uint64           // handoff ids

	counter atomic.Int64 // the shared counter behind /counter/shared

	addr    string   // where the server listens, host:port
	ln      *os.File // rr, sticky: the master's listening socket, non-blocking, polled by the runtime
	lnFile  *os.File // os: the listening socket workers inherit
	reserve *os.File // reuseport: holds the port

	acceptDone chan struct{}
}

// slot is a stable worker position 0..N-1; a restarted worker keeps it.
type slot struct {
	index    int
	cur      *proc
	state    string
	unstable int // unstable restarts in a row
	restarts int // all restarts
	timer    *time.Timer
	// reuseport: the slot's listening socket, kept by the master so that
	// a worker's death does not reset the connections in its accept
	// queue; the slot's next worker takes it over.
	sock *os.File
}

// proc is one worker process.
type proc struct {
	slot    *slot
	cmd     *exec.Cmd
	pid     int
	ch      *Channel
	started time.Time
	last    lastLine

	ready    bool        // guarded by Master.mu
	retiring atomic.Bool // leaving the rotation for good (shutdown, reload, scale)
	exited   chan struct{}
	exitErr  error

	mu      sync.Mutex
	dead    bool
	queue   chan handoff   // rr: connections to send
	pending map[uint64]int // rr: handoff id -> fd, sent and not yet acknowledged
	calls   map[uint64]chan Msg
}

// handoff is a connection the rr master accepted and passes to a worker.
type handoff struct {
	id uint64
	fd int
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
	return &Master{o: o, log: newLogSink(o.Log), exe: exe, procs: map[*proc]struct{}{}, changed: make(chan struct{})}, nil
}

// Run pins the master to Options.CPUs, opens the listening socket, starts
// the workers (each pinned to one of the CPUs), reports readiness
// through Options.Ready once every worker accepts, supervises them until
// ctx is done, then shuts down gracefully. It returns only when every
// worker has been reaped.
func (m *Master) Run(ctx context.Context) error {
	// The master is pinned to the whole list, each worker to one CPU of it.
	if len(m.o.CPUs) > 0 {
		if err := affinity.PinProcess(m.o.CPUs); err != nil {
			return err
		}
		runtime.GOMAXPROCS(len(m.o.CPUs))
	}
	if err := m.listen(); err != nil {
		return err
	}
	defer m.closeListeners()
	m.mu.Lock()
	for i := range m.o.Workers {
		s := &slot{index: i}
		m.slots = append(m.slots, s)
		if err := m.startLocked(s); err != nil {
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
		m.acceptDone = make(chan struct{})
		go m.acceptLoop()
	}
	m.log.printf("%d workers online (%s), listening on http://%s", m.o.Workers, m.o.Sched, m.addr)
	m.o.Ready(models.Info{Addr: m.addr, Model: models.Prefork, Sched: m.o.Sched, Workers: m.o.Workers, PID: os.Getpid()})

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
		m.ln, err = pollableDup(ln.(*net.TCPListener))
		ln.Close()
		if err != nil {
			return fmt.Errorf("listener fd: %w", err)
		}
	case models.SchedOS:
		ln, err := models.Listen(m.o.Addr)
		if err != nil {
			return err
		}
		// Keep only a descriptor to hand down: the master never accepts,
		// so it should not be woken for every connection either.
		m.lnFile, err = ln.(*net.TCPListener).File()
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
	for _, f := range []*os.File{m.ln, m.lnFile, m.reserve} {
		if f != nil {
			f.Close()
		}
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
			return errors.New("timed out")
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

// startLocked spawns a worker for s.
func (m *Master) startLocked(s *slot) error {
	mine, theirs, err := socketpair()
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(workerConfig{
		Slot: s.index, Sched: m.o.Sched, Addr: m.addr, Chaos: m.o.Chaos, CPUIters: m.o.CPUIters,
		Procs: m.o.WorkerProcs, Grace: m.o.Grace, DrainIdle: m.o.DrainIdle, Inherit: s.sock != nil,
	})
	cmd := exec.Command(m.exe, m.o.Args...)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(cfg))
	cmd.ExtraFiles = []*os.File{theirs}
	switch {
	case m.lnFile != nil:
		cmd.ExtraFiles = append(cmd.ExtraFiles, m.lnFile)
	case s.sock != nil:
		cmd.ExtraFiles = append(cmd.ExtraFiles, s.sock)
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
	if err != nil {
		mine.Close()
		pr.Close()
		return fmt.Errorf("start worker %d: %w", s.index, err)
	}
	p := &proc{
		slot: s, cmd: cmd, pid: cmd.Process.Pid, ch: mine, started: time.Now(),
		exited: make(chan struct{}), queue: make(chan handoff, 256),
		pending: map[uint64]int{}, calls: map[uint64]chan Msg{},
	}
	s.cur, s.state = p, StateStarting
	m.procs[p] = struct{}{}
	logged := make(chan struct{})
	go func() {
		m.log.copyLines(pr, fmt.Sprintf("[worker %d pid %d] ", s.index, p.pid), &p.last)
		close(logged)
	}()
	go m.readLoop(p)
	if m.ln != nil {
		go m.sendLoop(p)
	}
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
	case s.cur != p:
		// A replaced worker (reload, scale) finished draining.
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
		if s.sock != nil {
			// Nobody will accept from it again; connections the kernel
			// queued there are reset as it closes.
			s.sock.Close()
			s.sock = nil
		}
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
		if err := m.startLocked(s); err != nil {
			m.log.printf("ERROR: %v; slot %d is errored", err, s.index)
			s.state = StateErrored
			m.notifyLocked()
		}
	}
	if delay == 0 {
		go restart()
		return
	}
	s.timer = time.AfterFunc(delay, restart)
}

// rebuildLocked recomputes the rr rotation: ready, non-retiring workers in
// slot order.
func (m *Master) rebuildLocked() {
	var rot []*proc
	for _, s := range m.slots {
		if p := s.cur; p != nil && p.ready && !p.retiring.Load() {
			rot = append(rot, p)
		}
	}
	sort.Slice(rot, func(i, j int) bool { return rot[i].slot.index < rot[j].slot.index })
	m.rotation.Store(&rot)
}

// readLoop handles what worker p sends until its channel closes.
func (m *Master) readLoop(p *proc) {
	for {
		msg, fd, err := p.ch.Recv()
		if err != nil {
			return
		}
		if fd >= 0 && (msg.Kind != KindReady || m.o.Sched != models.SchedReusePort) {
			closeFD(fd) // only a reuseport worker's Ready carries one
			fd = -1
		}
		switch msg.Kind {
		case KindReady:
			m.mu.Lock()
			if fd >= 0 {
				if p.slot.sock == nil {
					p.slot.sock = os.NewFile(uintptr(fd), fmt.Sprintf("reuseport-slot-%d", p.slot.index))
				} else {
					closeFD(fd)
				}
			}
			p.ready = true
			if p.slot.cur == p && p.slot.state == StateStarting {
				p.slot.state = StateOnline
				if p.slot.restarts > 0 {
					m.log.printf("worker %d back online (pid %d)", p.slot.index, p.pid)
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
		case KindConnAck:
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
		case KindCounterAdd:
			v := m.counter.Add(msg.Val)
			p.ch.Send(Msg{Kind: KindCounterValue, ID: msg.ID, Val: v}, -1)
		case KindStats:
			p.mu.Lock()
			c := p.calls[msg.ID]
			delete(p.calls, msg.ID)
			p.mu.Unlock()
			if c != nil {
				c <- msg
			}
		case KindSend:
			m.route(p, msg)
		}
	}
}

// route forwards a worker-to-worker message, as Node's cluster does: the
// master is the only hub.
func (m *Master) route(from *proc, msg Msg) {
	out := Msg{Kind: KindMessage, Aux: int64(from.slot.index), Data: msg.Data}
	m.mu.Lock()
	var to []*proc
	for _, s := range m.slots {
		if p := s.cur; p != nil && p != from && p.ready && (msg.Aux < 0 || int64(s.index) == msg.Aux) {
			to = append(to, p)
		}
	}
	m.mu.Unlock()
	for _, p := range to {
		p.ch.Send(out, -1)
	}
}

// acceptLoop is the rr master's only job on the data path: accept a
// connection and hand its descriptor to the next worker. It uses accept4
// directly so a connection costs no Go object in the master.
func (m *Master) acceptLoop() {
	defer close(m.acceptDone)
	rc, err := m.ln.SyscallConn()
	if err != nil {
		m.log.printf("ERROR: listener: %v", err)
		return
	}
	for {
		var nfd int
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			return aerr != unix.EAGAIN
		})
		if err != nil {
			return // listener closed
		}
		switch aerr {
		case nil:
			m.dispatch(handoff{id: m.hid.Add(1), fd: nfd}, nil)
		case unix.ECONNABORTED, unix.EINTR:
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			m.log.printf("accept: %v; pausing", aerr)
			time.Sleep(50 * time.Millisecond) // back off as net/http does, until descriptors free up
		default:
			m.log.printf("ERROR: accept: %v", aerr)
			return
		}
	}
}

// dispatch gives h to the next worker in the rotation, skipping except
// (which refused it) and any worker whose queue is full or that is dying.
// With no worker able to take it, h is parked until one is ready: a
// connection is never dropped while any worker may come back.
func (m *Master) dispatch(h handoff, except *proc) {
	if rot := *m.rotationOrEmpty(); len(rot) > 0 {
		start := m.next.Add(1) - 1
		for i := range uint64(len(rot)) {
			p := rot[(start+i)%uint64(len(rot))]
			if p == except {
				continue
			}
			if p.offer(h) {
				return
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopping && m.anyComingLocked() && len(m.parked) < 65536 {
		m.parked = append(m.parked, h)
		return
	}
	closeFD(h.fd) // shutting down, or every slot is errored: nobody will ever serve it
}

func (m *Master) rotationOrEmpty() *[]*proc {
	if r := m.rotation.Load(); r != nil {
		return r
	}
	return &[]*proc{}
}

// anyComingLocked reports whether some slot is or will be serving.
func (m *Master) anyComingLocked() bool {
	for _, s := range m.slots {
		if s.state != StateErrored && s.state != StateStopped {
			return true
		}
	}
	return false
}

// offer queues h for p unless p is dead, retiring or backed up.
func (p *proc) offer(h handoff) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead || p.retiring.Load() {
		return false
	}
	select {
	case p.queue <- h:
		return true
	default:
		return false
	}
}

// sendLoop passes queued connections to worker p, and the shutdown after
// them, so none is sent to a worker that already stopped taking them.
func (m *Master) sendLoop(p *proc) {
	for {
		select {
		case h := <-p.queue:
			if h.fd < 0 {
				p.ch.Send(Msg{Kind: KindShutdown}, -1)
				continue
			}
			p.mu.Lock()
			p.pending[h.id] = h.fd
			p.mu.Unlock()
			if err := p.ch.Send(Msg{Kind: KindConn, ID: h.id}, h.fd); err != nil {
				p.mu.Lock()
				_, still := p.pending[h.id]
				delete(p.pending, h.id)
				p.mu.Unlock()
				if still {
					m.dispatch(h, p)
				}
			}
		case <-p.exited:
			return
		}
	}
}

// rescue gives the connections a dead worker never took to the others.
func (m *Master) rescue(p *proc) {
	p.mu.Lock()
	var hs []handoff
	for id, fd := range p.pending {
		hs = append(hs, handoff{id: id, fd: fd})
	}
	p.pending = map[uint64]int{}
	p.mu.Unlock()
	for {
		select {
		case h := <-p.queue:
			hs = append(hs, h)
			continue
		default:
		}
		break
	}
	for _, h := range hs {
		m.dispatch(h, p)
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
	m.mu.Unlock()
	if m.ln != nil {
		m.ln.Close()
		if m.acceptDone != nil {
			<-m.acceptDone
		}
	}
	m.mu.Lock()
	live := make([]*proc, 0, len(m.procs))
	for p := range m.procs {
		live = append(live, p)
	}
	parked := m.parked
	m.parked = nil
	m.rebuildLocked()
	m.mu.Unlock()
	for _, h := range parked {
		closeFD(h.fd)
	}
	for _, p := range live {
		m.retire(p)
	}
	deadline := time.NewTimer(m.o.Grace + time.Second)
	defer deadline.Stop()
	var killed []int
	for _, p := range live {
		select {
		case <-p.exited:
			continue
		case <-deadline.C:
		}
		// Past the grace period: what is still running is killed.
		for _, q := range live {
			select {
			case <-q.exited:
			default:
				q.cmd.Process.Kill()
				killed = append(killed, q.pid)
			}
		}
		break
	}
	for _, p := range live {
		<-p.exited
	}
	m.mu.Lock()
	for _, s := range m.slots {
		s.state = StateStopped
		if s.sock != nil {
			s.sock.Close()
			s.sock = nil
		}
	}
	m.mu.Unlock()
	if len(killed) > 0 {
		return fmt.Errorf("killed workers %v: still busy after the %v grace period", killed, m.o.Grace)
	}
	return nil
}

// retire takes p out of the rotation and tells it to drain and exit.
// Messages on the channel are ordered, so the connections queued for p
// before it retired reach it before the shutdown does.
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
	if m.ln != nil {
		select {
		case p.queue <- handoff{fd: -1}:
			return
		case <-p.exited:
			return
		}
	}
	if err := p.ch.Send(Msg{Kind: KindShutdown}, -1); err != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
}

// Status asks every live worker for its counts over IPC and returns one
// row per slot; a worker that does not answer within the timeout shows
// its counts as -1.
func (m *Master) Status(ctx context.Context) []WorkerStatus {
	m.mu.Lock()
	rows := make([]WorkerStatus, len(m.slots))
	procs := make([]*proc, len(m.slots))
	for i, s := range m.slots {
		rows[i] = WorkerStatus{Slot: s.index, State: s.state, Restarts: s.restarts, Served: -1, InFlight: -1}
		if p := s.cur; p != nil && s.state != StateErrored && s.state != StateStopped {
			rows[i].PID = p.pid
			rows[i].Uptime = time.Since(p.started)
			procs[i] = p
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for i, p := range procs {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := p.stats(ctx); err == nil {
				rows[i].Served, rows[i].InFlight = st.Val, st.Aux
			}
		}()
	}
	wg.Wait()
	return rows
}

// stats asks p for its request counts.
func (p *proc) stats(ctx context.Context) (Msg, error) {
	id := uint64(time.Now().UnixNano())
	c := make(chan Msg, 1)
	p.mu.Lock()
	for p.calls[id] != nil {
		id++
	}
	p.calls[id] = c
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.calls, id)
		p.mu.Unlock()
	}()
	if err := p.ch.Send(Msg{Kind: KindStatsRequest, ID: id}, -1); err != nil {
		return Msg{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	select {
	case m := <-c:
		return m, nil
	case <-ctx.Done():
		return Msg{}, ctx.Err()
	case <-p.exited:
		return Msg{}, errors.New("worker exited")
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

// pollableDup returns a non-blocking, close-on-exec duplicate of ln's
// socket as a file the runtime's poller watches.
func pollableDup(ln *net.TCPListener) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var dup int
	var derr error
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return nil, err
	}
	return os.NewFile(uintptr(dup), "listener"), nil
}

// Run is New followed by Master.Run.
func Run(ctx context.Context, o Options) error {
	m, err := New(o)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}
