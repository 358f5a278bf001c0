//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// This file is the supervisor: the owner goroutine (own, do, see Master)
// and the slots' state machine it runs (start, readiness, crash policy and
// backoff, drain), apart from how a worker process is made, which env
// provides. rolling.go adds reload and scale on top, dispatch.go the data
// path and what the owner decides for it (unresponsive workers, workers
// out of descriptors, parked connections). A function that reads or
// writes the owner's state runs on the owner; one that runs elsewhere
// reaches that state only through do or waitFor, and says so.

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
	calls   ipc.Calls // stats requests awaiting the worker's reply

	// The owner's (see Master).
	ready    bool
	online   bool // it reported ready at least once
	trial    bool // a replacement that has not reported ready: its death is not a crash
	retiring bool // leaving the rotation for good (shutdown, reload, scale)
	killed   bool // by reap, a failed replacement or checkAcks
	cpu      float64
	rss      int64
	// Out of descriptors (see outOfFDs): noFDs while it waits out its
	// backoff, fdBurst from its first refusal to the next connection it
	// takes.
	noFDs     bool
	fdBurst   bool
	fdBackoff time.Duration
	fdRefused int
	// Unresponsive (see checkAcks): hung since hungSince.
	hung      bool
	hungSince time.Time
	exited    chan struct{} // closed by the owner once it has seen the exit
	exitErr   error         // how it ended, set before exited is closed

	// The data path's, under mu: dispatch and the worker's send and read
	// loops use these for every connection, without the owner.
	mu      sync.Mutex
	dead    bool           // reaped
	closed  bool           // retiring: it is offered nothing more
	flagged bool           // hung or refusing for want of descriptors: its answers go to the owner
	resting bool           // hung or out of descriptors: offered nothing (the view leaves it out too)
	queue   chan handoff   // connections to send
	pending map[uint64]int // handoff id -> fd, sent and not yet acknowledged
	sent    []sent         // when each was sent, in order (oldest)
	shut    chan struct{}  // closed by retire: the send loop sends the shutdown after what is queued
}

// own runs what do hands it, one function at a time, until Run returns.
// After each, it wakes whoever waits for a change (waitFor), unless the
// function only registered a waiter: that would wake it, and every other
// waiter, at once, for them to look again and register again, in a loop.
func (m *Master) own() {
	for {
		select {
		case f := <-m.inbox:
			f()
			switch {
			case m.looked:
				m.looked = false
			case m.waited:
				close(m.changed)
				m.changed, m.waited = make(chan struct{}), false
			}
		case <-m.stopped:
			return
		}
	}
}

// do runs f on the owner and returns once it has run; false, without
// running it, once the owner has stopped. The owner's own functions never
// call it: they are the owner.
func (m *Master) do(f func()) bool {
	done := make(chan struct{})
	select {
	case m.inbox <- func() { f(); close(done) }:
	case <-m.stopped:
		return false
	}
	<-done
	return true
}

// errStopped is what a call to a master that has returned from Run fails
// with.
var errStopped = errors.New("the master has stopped")

// emit publishes e, stamped now, to the control socket's watchers: on the
// owner, so that they see events in the order of the changes.
func (m *Master) emit(e control.Event) {
	e.Time = m.env.now()
	m.events.publish(e)
}

// start starts every slot's worker and waits until all are ready. Run
// calls it once the listening sockets are open; a worker that dies before
// it is ready fails it, with every worker reaped.
func (m *Master) start(ctx context.Context) error {
	var err error
	m.do(func() {
		for i := range m.o.Workers {
			s := &slot{index: i, sock: -1}
			m.slots = append(m.slots, s)
			if err = m.startWorker(s, false); err != nil {
				return
			}
		}
	})
	if err == nil {
		err = m.waitStartup(ctx)
	}
	if err != nil {
		m.shutdown()
		return err
	}
	m.do(func() { m.running = true })
	return nil
}

// waitFor blocks until cond, which the owner runs after each change, is
// true, ctx is done or limit passes (0: no limit).
func (m *Master) waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	var timeout <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		timeout = t.C
	}
	for {
		var ok bool
		var ch chan struct{}
		if !m.do(func() {
			if ok = cond(); !ok {
				ch, m.waited, m.looked = m.changed, true, true
			}
		}) {
			return errStopped
		}
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("timed out after %v", limit)
		}
	}
}

// claim waits until no reload, scale or replacement is under way and
// makes op the one; release ends it. They run one at a time, as each
// reads the slots it then changes.
func (m *Master) claim(ctx context.Context, op string) error {
	return m.waitFor(ctx, 0, func() bool {
		if m.op != "" {
			return false
		}
		m.op = op
		return true
	})
}

// tryClaim is claim when none is under way, else false at once.
func (m *Master) tryClaim(op string) bool {
	ok := false
	m.do(func() {
		if ok = m.op == ""; ok {
			m.op = op
		}
	})
	return ok
}

func (m *Master) release() { m.do(func() { m.op = "" }) }

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

// startWorker spawns a worker for s, on the owner: a fork and exec, as
// quick as a restart needs (scale's many spawns run outside, addSlot). A
// replacement (reload, memory limit) becomes s.cur while the worker it
// replaces, now s.prev, keeps serving until the replacement is ready.
func (m *Master) startWorker(s *slot, replace bool) error {
	m.resume()
	op, ch, err := m.env.spawn(m.spec(s))
	if err != nil {
		return fmt.Errorf("start worker %d: %w", s.index, err)
	}
	m.attach(s, op, ch, replace)
	return nil
}

// spec returns what spawn needs to start a worker for s.
func (m *Master) spec(s *slot) workerSpec {
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

// attach makes op, just spawned, the worker of s (see startWorker) and
// starts the goroutines that talk to it and reap it.
func (m *Master) attach(s *slot, op process, ch *ipc.Channel, replace bool) {
	p := &proc{
		slot: s, os: op, pid: op.Pid(), ch: ch, started: m.env.now(), trial: replace,
		exited: make(chan struct{}), queue: make(chan handoff, 256), pending: map[uint64]int{}, shut: make(chan struct{}),
	}
	if replace {
		s.prev = s.cur
	} else {
		s.state = control.StateStarting
	}
	s.cur = p
	m.procs[p] = struct{}{}
	m.emit(control.Event{Kind: control.EventStarted, Slot: s.index, PID: p.pid})
	go m.readLoop(p)
	go m.sendLoop(p)
	go m.waitLoop(p)
}

// waitLoop reaps p, has the owner decide what happens to its slot, and
// gives the connections p never took to the others.
func (m *Master) waitLoop(p *proc) {
	err := p.os.Wait()
	p.ch.Close()
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
	if err == nil {
		err = errors.New("exit status 0")
	}
	m.do(func() { m.exited(p, err) })
	m.rescue(p)
}

// exited records that p ended with err and decides what happens to its
// slot.
func (m *Master) exited(p *proc, err error) {
	uptime := m.env.now().Sub(p.started)
	p.exitErr = err
	delete(m.procs, p)
	p.ready = false
	// Closed before any event tells of the exit, so that whoever hears of
	// it finds p gone (reap does not count it as killed).
	close(p.exited)
	s := p.slot
	exited := control.Event{Kind: control.EventExited, Slot: s.index, PID: p.pid, Exit: err.Error(), Uptime: uptime, Killed: p.killed}
	switch {
	case s.prev == p:
		// A replaced worker finished draining.
		s.prev = nil
		m.emit(exited)
	case s.cur != p:
		// Its slot was removed (scale).
		m.emit(exited)
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
		m.emit(failed)
	case m.stopping || p.retiring:
		s.state = control.StateStopped
		m.emit(exited)
	case !m.running && !p.online && !killedBySignal(err):
		// A first worker that exited by itself before it was ready: the
		// build or a setting is wrong, and every restart would say so
		// again. waitStartup fails the start with what it said.
		s.state = control.StateStopped
		m.emit(exited)
	default:
		// A crash, from the first start on: a worker killed while the
		// server starts is restarted under the crash budget too.
		m.emit(control.Event{Kind: control.EventCrashed, Slot: s.index, PID: p.pid, Exit: exited.Exit, Uptime: uptime})
		m.crashed(s, uptime)
	}
	m.rebuild()
}

// crashed applies the restart policy to a slot whose worker died.
func (m *Master) crashed(s *slot, uptime time.Duration) {
	p := s.cur
	var delay time.Duration
	var errored bool
	s.unstable, delay, errored = m.o.Policy.Next(uptime, s.unstable)
	if errored {
		s.state = control.StateErrored
		m.adopt(s)
		m.log.printf("ERROR: worker %d (pid %d) %v after %v, its %d%s death in a row within --min-uptime %v (--max-restarts %d); giving up on slot %d, serving with the others",
			s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), s.unstable, ordinal(s.unstable), m.o.Policy.MinUptime, m.o.Policy.MaxRestarts, s.index)
		m.emit(control.Event{Kind: control.EventErrored, Slot: s.index, PID: p.pid, Exit: p.exitErr.Error(), Restarts: s.restarts})
		return
	}
	s.state = control.StateWaiting
	s.restarts++
	m.log.printf("worker %d (pid %d) %v after %v; restarting in %v", s.index, p.pid, p.exitErr, uptime.Round(time.Millisecond), delay)
	m.emit(control.Event{Kind: control.EventRestarting, Slot: s.index, PID: p.pid, Delay: delay, Restarts: s.restarts})
	restart := func() {
		m.do(func() {
			if m.stopping || s.cur != p || s.state != control.StateWaiting {
				return
			}
			s.restart = nil
			if err := m.startWorker(s, false); err != nil {
				m.log.printf("ERROR: %v; slot %d is errored", err, s.index)
				s.state = control.StateErrored
				m.adopt(s)
				m.emit(control.Event{Kind: control.EventErrored, Slot: s.index, Restarts: s.restarts})
				m.rebuild()
			}
		})
	}
	if delay == 0 {
		go restart() // once the owner is done with the death
		return
	}
	s.restart = m.env.afterFunc(delay, restart)
}

// serving returns the process that serves slot s now: its worker once
// ready, else the one it replaces.
func (s *slot) serving() *proc {
	for _, p := range []*proc{s.cur, s.prev} {
		if p != nil && p.ready && !p.retiring {
			return p
		}
	}
	return nil
}

// ready records that p accepts connections; fd is a first reuseport
// worker's own socket, which the master keeps for the slot.
func (m *Master) ready(p *proc, fd int) {
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
		m.emit(control.Event{Kind: control.EventOnline, Slot: s.index, PID: p.pid, Restarts: s.restarts})
	}
	m.rebuild()
	m.unparkAll()
}

// shutdown stops accepting, tells every worker to drain, waits for them
// within the grace period, kills what is left and reaps everything.
func (m *Master) shutdown() error {
	var orphans []*orphan
	m.do(func() {
		m.stopping = true
		close(m.quit)
		for _, s := range m.slots {
			s.stopRestart()
		}
		orphans, m.orphans = m.orphans, nil
	})
	if m.ln != nil {
		m.ln.Close()
	}
	for _, o := range orphans {
		o.stop()
	}
	m.accepts.Wait()
	var live []*proc
	m.do(func() {
		for p := range m.procs {
			live = append(live, p)
		}
		for _, h := range m.unpark() {
			closeFD(h.fd)
		}
		for _, p := range live {
			m.retire(p)
		}
	})
	killed := m.reap(live, m.o.Grace+time.Second)
	m.do(func() {
		for _, s := range m.slots {
			s.state = control.StateStopped
			if s.sock >= 0 {
				closeFD(s.sock)
				s.sock = -1
			}
		}
	})
	for _, o := range orphans {
		closeFD(o.sock)
	}
	if len(killed) > 0 {
		return fmt.Errorf("killed workers %v: still busy after the %v grace period", killed, m.o.Grace)
	}
	return nil
}

// reap waits up to limit for procs to exit, then kills the rest, and
// returns their pids once they are reaped. It runs outside the owner,
// which sees each exit.
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
			m.do(func() {
				for _, q := range procs {
					select {
					case <-q.exited:
					default:
						q.killed = true
						q.os.Kill()
						killed = append(killed, q.pid)
					}
				}
			})
			break wait
		}
	}
	for _, p := range procs {
		<-p.exited
	}
	return killed
}

// retire takes p out of the rotation for good and has it drain and exit:
// its send loop sends the shutdown behind the connections already queued
// for it, so none of those is sent to a worker that stopped taking them.
func (m *Master) retire(p *proc) {
	if p.retiring {
		return
	}
	p.retiring = true
	p.mu.Lock()
	p.closed = true // no offer succeeds after this
	dead := p.dead
	p.mu.Unlock()
	close(p.shut)
	m.rebuild()
	if !dead {
		m.emit(control.Event{Kind: control.EventDraining, Slot: p.slot.index, PID: p.pid})
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
