//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// This file is the supervisor: the slots' state machine (start, readiness,
// crash policy and backoff, drain) apart from how a worker process is
// made, which env provides. rolling.go adds reload and scale on top.

// env is what the supervisor needs from the OS and the clock, a struct of
// functions as in cloudflare/tableflip, so that its tests run the state
// machine with fake processes and timers, starting nothing and never
// sleeping. osEnv is the real one.
type env struct {
	// spawn starts a worker and returns it with the master's end of its
	// IPC channel.
	spawn func(workerSpec) (process, *ipc.Channel, error)
	now   func() time.Time
	// afterFunc calls f in its own goroutine after d, unless the stop it
	// returns is called first; stop reports whether it prevented f.
	afterFunc func(d time.Duration, f func()) (stop func() bool)
}

// workerSpec is what spawn needs to start the worker of one slot.
type workerSpec struct {
	cfg      workerConfig // told to the worker through WorkerEnv
	listener int          // a listening socket to pass as fd 4, or -1
	cpus     []int        // pin the worker to these; nil: no pinning
}

// process is a started worker process, as the supervisor sees it.
type process interface {
	Pid() int
	Kill() error // SIGKILL; Wait still reaps it
	// Wait returns once the process has exited and been reaped, with how
	// it ended; a nil error is exit status 0.
	Wait() error
	LastLine() string // what it logged last, to explain an early death
}

// slot is a stable worker position 0..N-1; a restarted or reloaded worker
// keeps it.
type slot struct {
	index    int
	cur      *proc // the slot's worker, or its replacement while one starts
	prev     *proc // during a replacement: the worker being replaced, serving until cur is ready
	state    string
	unstable int         // unstable restarts in a row
	restarts int         // all restarts
	restart  func() bool // stops the pending restart's timer, if any
	// reuseport: the slot's listening socket. The master keeps it so that
	// a worker's death or replacement does not reset the connections in
	// its accept queue: the slot's next worker takes it over.
	sock int
}

// stopRestart cancels a restart the crash policy scheduled for s.
func (s *slot) stopRestart() {
	if s.restart != nil {
		s.restart()
		s.restart = nil
	}
}

// proc is one worker process.
type proc struct {
	slot    *slot
	os      process
	pid     int
	ch      *ipc.Channel
	started time.Time

	// Guarded by Master.mu.
	ready  bool
	online bool // it reported ready at least once
	trial  bool // a replacement that has not reported ready: its death is not a crash
	cpu    float64
	rss    int64
	ticks  float64 // CPU seconds at the last sample
	at     time.Time

	// Out of descriptors (see outOfFDs): noFDs while it waits out its
	// backoff, fdBurst from its first refusal to the next connection it
	// takes; the others are guarded by Master.mu.
	noFDs     atomic.Bool
	fdBurst   atomic.Bool
	fdBackoff time.Duration
	fdRefused int

	// Unresponsive (see checkAcks): hung since hungSince (Master.mu).
	hung      atomic.Bool
	hungSince time.Time

	retiring atomic.Bool // leaving the rotation for good (shutdown, reload, scale)
	killed   atomic.Bool // by reap or a failed replacement
	exited   chan struct{}
	exitErr  error

	mu      sync.Mutex
	dead    bool
	queue   chan handoff   // connections (and the shutdown) to send
	pending map[uint64]int // handoff id -> fd, sent and not yet acknowledged
	sent    []sent         // when each was sent, in order (oldestLocked)
	calls   ipc.Calls      // stats requests awaiting the worker's reply
}

// notifyLocked wakes everything waiting for a state change.
func (m *Master) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// emitLocked publishes e, stamped now, to the control socket's watchers.
// Under m.mu, so that watchers see events in the order of the changes.
func (m *Master) emitLocked(e control.Event) {
	e.Time = m.env.now()
	m.events.publish(e)
}

// start starts every slot's worker and waits until all are ready. Run
// calls it once the listening sockets are open; a worker that dies before
// it is ready fails it, with every worker reaped.
func (m *Master) start(ctx context.Context) error {
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
	return nil
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

// waitStartup waits until every slot is online. A worker that exits by
// itself before it is ready fails the start with what it last logged; one
// killed meanwhile is restarted under the crash budget, and the start
// fails only once that budget is spent.
func (m *Master) waitStartup(ctx context.Context) error {
	var failed error
	err := m.waitFor(ctx, startupLimit, func() bool {
		online := 0
		for _, s := range m.slots {
			switch s.state {
			case control.StateOnline:
				online++
			case control.StateStopped:
				failed = fmt.Errorf("worker %d exited while starting: %v", s.index, s.cur.exitErr)
			case control.StateErrored:
				failed = fmt.Errorf("worker %d died %d times in a row while starting, last with %v (--max-restarts %d)", s.index, s.unstable, s.cur.exitErr, m.o.Policy.MaxRestarts)
			}
			if failed != nil {
				if l := s.cur.os.LastLine(); l != "" {
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
	m.resumeLocked()
	op, ch, err := m.env.spawn(m.specLocked(s))
	if err != nil {
		return fmt.Errorf("start worker %d: %w", s.index, err)
	}
	m.attachLocked(s, op, ch, replace)
	return nil
}

// specLocked returns what spawn needs to start a worker for s.
func (m *Master) specLocked(s *slot) workerSpec {
	w := workerSpec{
		cfg: workerConfig{
			Slot: s.index, Sched: m.o.Sched, Addr: m.addr, Chaos: m.o.Chaos, CPUIters: m.o.CPUIters,
			Procs: m.o.WorkerProcs, Grace: m.o.Grace, DrainIdle: m.o.DrainIdle, Inherit: s.sock >= 0,
			State: m.o.State, StateKey: fmt.Sprintf("corebench:%d:", m.info.PID), EventLoop: m.o.EventLoop,
			Startup: m.o.Startup, ExitAfter: m.o.ExitAfter, Timeouts: m.o.Timeouts,
		},
		listener: -1,
		cpus:     m.cpusFor(s.index),
	}
	switch {
	case m.lnFD >= 0:
		w.listener = m.lnFD
	case s.sock >= 0:
		w.listener = s.sock
	}
	return w
}

// attachLocked makes op, just spawned, the worker of s (see startLocked)
// and starts the goroutines that talk to it and reap it.
func (m *Master) attachLocked(s *slot, op process, ch *ipc.Channel, replace bool) {
	p := &proc{
		slot: s, os: op, pid: op.Pid(), ch: ch, started: m.env.now(), trial: replace,
		exited: make(chan struct{}), queue: make(chan handoff, 256), pending: map[uint64]int{},
	}
	if replace {
		s.prev = s.cur
	} else {
		s.state = control.StateStarting
	}
	s.cur = p
	m.procs[p] = struct{}{}
	m.emitLocked(control.Event{Kind: control.EventStarted, Slot: s.index, PID: p.pid})
	go m.readLoop(p)
	go m.sendLoop(p)
	go m.waitLoop(p)
}

// waitLoop reaps p and decides what happens to its slot.
func (m *Master) waitLoop(p *proc) {
	err := p.os.Wait()
	p.ch.Close()
	uptime := m.env.now().Sub(p.started)

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
	// Closed before any event tells of the exit, so that whoever hears of
	// it finds p gone (reap does not count it as killed).
	close(p.exited)
	s := p.slot
	exited := control.Event{Kind: control.EventExited, Slot: s.index, PID: p.pid, Exit: p.exitErr.Error(), Uptime: uptime, Killed: p.killed.Load()}
	switch {
	case s.prev == p:
		// A replaced worker finished draining.
		s.prev = nil
		m.emitLocked(exited)
	case s.cur != p:
		// Its slot was removed (scale).
		m.emitLocked(exited)
	case p.trial:
		// A replacement died before it was ready: the worker it was to
		// replace keeps the slot, and the reload or scale that started
		// it reports the failure.
		s.cur, s.prev = s.prev, nil
		failed := control.Event{Kind: control.EventFailed, Slot: s.index, PID: p.pid, Exit: exited.Exit, Uptime: uptime, Killed: exited.Killed}
		if s.cur == nil {
			s.state = control.StateStopped
		} else {
			failed.OldPID = s.cur.pid
		}
		m.emitLocked(failed)
	case m.stopping || p.retiring.Load():
		s.state = control.StateStopped
		m.emitLocked(exited)
	case !m.running && !p.online && !killedBySignal(p.exitErr):
		// A first worker that exited by itself before it was ready: the
		// build or a setting is wrong, and every restart would say so
		// again. waitStartup fails the start with what it said.
		s.state = control.StateStopped
		m.emitLocked(exited)
	default:
		// A crash, from the first start on: a worker killed while the
		// server starts is restarted under the crash budget too.
		m.emitLocked(control.Event{Kind: control.EventCrashed, Slot: s.index, PID: p.pid, Exit: exited.Exit, Uptime: uptime})
		m.crashedLocked(s, uptime)
	}
	m.rebuildLocked()
	m.notifyLocked()
	m.mu.Unlock()
	m.rescue(p)
}

// crashedLocked applies the restart policy to a slot whose worker died.
func (m *Master) crashedLocked(s *slot, uptime time.Duration) {
	p := s.cur
	var delay time.Duration
	var errored bool
	s.unstable, delay, errored = m.o.Policy.Next(uptime, s.unstable)
	if errored {
		s.state = control.StateErrored
		m.adoptLocked(s)
		m.log.printf("ERROR: worker %d (pid %d) %v after %v, its %d%s death in a row within --min-uptime %v (--max-restarts %d); giving up on slot %d, serving with the others",
			s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), s.unstable, ordinal(s.unstable), m.o.Policy.MinUptime, m.o.Policy.MaxRestarts, s.index)
		m.emitLocked(control.Event{Kind: control.EventErrored, Slot: s.index, PID: p.pid, Exit: p.exitErr.Error(), Restarts: s.restarts})
		return
	}
	s.state = control.StateWaiting
	s.restarts++
	m.log.printf("worker %d (pid %d) %v after %v; restarting in %v", s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), delay)
	m.emitLocked(control.Event{Kind: control.EventRestarting, Slot: s.index, PID: p.pid, Delay: delay, Restarts: s.restarts})
	restart := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.stopping || s.cur != p || s.state != control.StateWaiting {
			return
		}
		s.restart = nil
		if err := m.startLocked(s, false); err != nil {
			m.log.printf("ERROR: %v; slot %d is errored", err, s.index)
			s.state = control.StateErrored
			m.adoptLocked(s)
			m.emitLocked(control.Event{Kind: control.EventErrored, Slot: s.index, Restarts: s.restarts})
			m.rebuildLocked()
			m.notifyLocked()
		}
	}
	if delay == 0 {
		go restart()
		return
	}
	s.restart = m.env.afterFunc(delay, restart)
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
	m.gateLocked()
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
	p.ready, p.online = true, true
	if s.cur == p {
		p.trial = false
		if s.state != control.StateOnline {
			s.state = control.StateOnline
			if s.restarts > 0 {
				m.log.printf("worker %d back online (pid %d)", s.index, p.pid)
			}
		}
		m.emitLocked(control.Event{Kind: control.EventOnline, Slot: s.index, PID: p.pid, Restarts: s.restarts})
	}
	m.rebuildLocked()
	parked := m.unparkLocked()
	m.notifyLocked()
	m.mu.Unlock()
	for _, h := range parked {
		m.dispatch(h, nil)
	}
}

// shutdown stops accepting, tells every worker to drain, waits for them
// within the grace period, kills what is left and reaps everything.
func (m *Master) shutdown() error {
	m.mu.Lock()
	m.stopping = true
	close(m.quit)
	for _, s := range m.slots {
		s.stopRestart()
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
	parked := m.unparkLocked()
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
		s.state = control.StateStopped
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
	if len(procs) == 0 {
		return nil
	}
	deadline := make(chan struct{})
	stop := m.env.afterFunc(limit, func() { close(deadline) })
	defer stop()
	var killed []int
wait:
	for _, p := range procs {
		select {
		case <-p.exited:
		case <-deadline:
			for _, q := range procs {
				select {
				case <-q.exited:
				default:
					q.killed.Store(true)
					q.os.Kill()
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
	if !dead {
		m.emitLocked(control.Event{Kind: control.EventDraining, Slot: p.slot.index, PID: p.pid})
	}
	m.mu.Unlock()
	if dead {
		return
	}
	select {
	case p.queue <- handoff{fd: -1}:
	case <-p.exited:
	}
}

// killedBySignal reports whether err, how a worker ended, says a signal
// killed it ("signal: killed", as os.ProcessState words it) rather than
// that it exited with a status of its own.
func killedBySignal(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "signal: ")
}

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
