//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// The supervisor's tests run the state machine against fakeOS: workers are
// goroutines at the far end of a real IPC channel, timers fire when the
// test says so and the clock moves only when it is told to. No process
// starts and nothing sleeps; every step waits for the master's event.

// fakeOS is an env whose processes and timers the test drives.
type fakeOS struct {
	mu      sync.Mutex
	now     time.Time
	pid     int
	spawned chan *fakeWorker
	timers  chan *fakeTimer
	// hold, when set, is called first by every spawn: a slow fork and
	// exec, for as long as the test likes.
	hold func(workerSpec)
}

func newFakeOS() *fakeOS {
	return &fakeOS{now: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), pid: 1000,
		spawned: make(chan *fakeWorker, 64), timers: make(chan *fakeTimer, 64)}
}

func (f *fakeOS) env() env {
	return env{spawn: f.spawn, now: f.clock, afterFunc: f.afterFunc}
}

func (f *fakeOS) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the clock, so that the workers alive look older.
func (f *fakeOS) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fakeOS) spawn(spec workerSpec) (process, *ipc.Channel, error) {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		hold(spec)
	}
	mine, theirs, err := ipc.Pair()
	if err != nil {
		return nil, nil, err
	}
	end, err := ipc.FromFile(theirs)
	if err != nil {
		mine.Close()
		return nil, nil, err
	}
	f.mu.Lock()
	f.pid++
	w := &fakeWorker{spec: spec, pid: f.pid, end: end, exit: make(chan error, 1), drain: make(chan struct{}), conns: make(chan uint64, 4096)}
	w.answering(silent)
	f.mu.Unlock()
	go w.serve()
	f.spawned <- w
	return w, mine, nil
}

func (f *fakeOS) afterFunc(d time.Duration, fn func()) func() bool {
	t := &fakeTimer{d: d, fn: fn}
	f.timers <- t
	return t.stop
}

// fakeTimer is a timer the test fires.
type fakeTimer struct {
	d       time.Duration
	fn      func()
	mu      sync.Mutex
	stopped bool
	fired   bool
}

func (t *fakeTimer) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped && !t.fired {
		t.fired = true
		go t.fn() // as time.AfterFunc does
	}
}

func (t *fakeTimer) stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// fakeWorker is a worker process: its IPC end, and an exit the test or
// the master's shutdown message brings about.
type fakeWorker struct {
	spec     workerSpec
	pid      int
	end      *ipc.Channel
	exit     chan error
	once     sync.Once
	drain    chan struct{} // closed when the master asked it to drain
	stubborn atomic.Bool   // ignores the shutdown: only a kill ends it
	killed   atomic.Bool
	last     atomic.Value // string
	// answer is what it acknowledges a passed connection with (an
	// ipc.Conn* value), or silent: it never does, as a stopped process.
	answer atomic.Int64
	conns  chan uint64  // the handoff ids passed to it
	passed atomic.Int64 // how many were passed to it
}

// silent is a fakeWorker's answer when it acknowledges nothing.
const silent = -1

// answering makes w acknowledge every connection passed from now on with
// val (ipc.ConnTaken, ipc.ConnNoFDs...), or nothing (silent).
func (w *fakeWorker) answering(val int64) { w.answer.Store(val) }

func (w *fakeWorker) Pid() int { return w.pid }

func (w *fakeWorker) Kill() error {
	w.killed.Store(true)
	w.die(errors.New("signal: killed"))
	return nil
}

func (w *fakeWorker) Wait() error { return <-w.exit }

func (w *fakeWorker) LastLine() string {
	s, _ := w.last.Load().(string)
	return s
}

// die ends the process with err (nil: exit status 0): its end of the
// channel closes as the kernel would close it.
func (w *fakeWorker) die(err error) {
	w.once.Do(func() {
		w.end.Close()
		w.exit <- err
	})
}

func (w *fakeWorker) ready() {
	if err := w.end.Send(ipc.Msg{Kind: ipc.KindReady}, -1); err != nil {
		panic(err)
	}
}

func (w *fakeWorker) draining() bool {
	select {
	case <-w.drain:
		return true
	default:
		return false
	}
}

// serve answers the master until the channel closes: a shutdown makes it
// exit unless it is stubborn.
func (w *fakeWorker) serve() {
	for {
		m, fd, err := w.end.Recv()
		if err != nil {
			return
		}
		if fd >= 0 {
			closeFD(fd)
		}
		switch m.Kind {
		case ipc.KindConn:
			w.passed.Add(1)
			select {
			case w.conns <- m.ID:
			default:
			}
			if v := w.answer.Load(); v != silent {
				w.end.Send(ipc.Msg{Kind: ipc.KindConnAck, ID: m.ID, Val: v}, -1)
			}
		case ipc.KindStatsRequest:
			w.end.Send(ipc.Msg{Kind: ipc.KindStats, ID: m.ID}, -1)
		case ipc.KindShutdown:
			close(w.drain)
			if !w.stubborn.Load() {
				w.die(nil)
			}
		}
	}
}

// harness is a master under test with its fake OS and its events.
type harness struct {
	t      *testing.T
	m      *Master
	os     *fakeOS
	events chan control.Event
}

func newHarness(t *testing.T, workers int, policy Policy) *harness {
	t.Helper()
	o := Options{Options: models.Options{Workers: workers, Grace: 5 * time.Second, Log: io.Discard}, Sched: models.SchedRR, Policy: policy}
	o.Options = o.Options.WithDefaults()
	o.Policy = o.Policy.withDefaults()
	f := newFakeOS()
	m := newMaster(o, newLogSink(o.Log), f.env())
	t.Cleanup(func() { close(m.stopped) }) // as Run does when it returns
	_, events := m.events.subscribe()
	return &harness{t: t, m: m, os: f, events: events}
}

// wait bounds every wait of these tests: reaching it is a failure, never
// a step of the test.
const wait = 10 * time.Second

// next returns the next event of kind, skipping others.
func (h *harness) next(kind control.EventKind) control.Event {
	h.t.Helper()
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case e, ok := <-h.events:
			if !ok {
				h.t.Fatalf("event stream closed waiting for %s", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-t.C:
			h.t.Fatalf("no %s event within %v", kind, wait)
		}
	}
}

// expect returns the next event, which must be of kind.
func (h *harness) expect(kind control.EventKind) control.Event {
	h.t.Helper()
	select {
	case e := <-h.events:
		if e.Kind != kind {
			h.t.Fatalf("event %+v, want %s", e, kind)
		}
		return e
	case <-time.After(wait):
		h.t.Fatalf("no %s event within %v", kind, wait)
	}
	return control.Event{}
}

func (h *harness) spawned() *fakeWorker {
	h.t.Helper()
	select {
	case w := <-h.os.spawned:
		return w
	case <-time.After(wait):
		h.t.Fatalf("no worker spawned within %v", wait)
	}
	return nil
}

func (h *harness) timer() *fakeTimer {
	h.t.Helper()
	select {
	case t := <-h.os.timers:
		return t
	case <-time.After(wait):
		h.t.Fatalf("no timer requested within %v", wait)
	}
	return nil
}

// noSpawn fails if a worker was spawned: call it only when every spawn
// the master could make has happened before (it returned, or an event
// after it was seen).
func (h *harness) noSpawn() {
	h.t.Helper()
	select {
	case w := <-h.os.spawned:
		h.t.Fatalf("unexpected worker spawned for slot %d", w.spec.cfg.Slot)
	default:
	}
}

// start starts the master's workers, readies each and returns them.
func (h *harness) start() []*fakeWorker {
	h.t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.m.start(context.Background()) }()
	var ws []*fakeWorker
	for range h.m.o.Workers {
		w := h.spawned()
		ws = append(ws, w)
	}
	for _, w := range ws {
		w.ready()
	}
	if err := <-done; err != nil {
		h.t.Fatal(err)
	}
	for range ws {
		h.next(control.EventOnline)
	}
	return ws
}

// shutdown shuts the master down with every worker obedient, and checks
// that everything was reaped.
func (h *harness) shutdown() {
	h.t.Helper()
	if err := h.m.shutdown(); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	var n int
	h.m.do(func() { n = len(h.m.procs) })
	if n > 0 {
		h.t.Errorf("%d processes left after shutdown", n)
	}
}

// rotation returns the pids serving, in slot order, as the owner last
// published them.
func (h *harness) rotation() []int {
	var pids []int
	h.m.do(func() {
		for _, p := range h.m.view.Load().rot {
			pids = append(pids, p.pid)
		}
	})
	return pids
}

func (h *harness) state(slot int) (state string) {
	h.m.do(func() { state = h.m.slots[slot].state })
	return state
}

// checkAcks runs the master's check of acknowledgements at now.
func (h *harness) checkAcks(now time.Time) { h.m.do(func() { h.m.checkAcks(now) }) }

// accepting reports whether the master's accept loops may accept.
func (h *harness) accepting() (open bool) {
	h.m.do(func() { open = h.m.view.Load().open })
	return open
}

// TestCrashRestartBackoffErrored: a worker that dies young is restarted
// after the policy's backoff, doubling, until the restart budget is spent
// and its slot is errored while the others serve; one that had been up
// long enough is replaced at once.
func TestCrashRestartBackoffErrored(t *testing.T) {
	h := newHarness(t, 2, Policy{MinUptime: time.Second, MaxRestarts: 2, BackoffBase: 100 * time.Millisecond})
	ws := h.start()
	w0 := ws[0]
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		w0.die(errors.New("exit status 1"))
		c := h.expect(control.EventCrashed)
		if c.Slot != 0 || c.PID != w0.pid || c.Exit != "exit status 1" || c.Uptime != 0 {
			t.Errorf("crash %d: %+v", i+1, c)
		}
		r := h.expect(control.EventRestarting)
		if r.Delay != want || r.Restarts != i+1 {
			t.Errorf("crash %d: restarting after %v as restart %d, want %v and %d", i+1, r.Delay, r.Restarts, want, i+1)
		}
		tm := h.timer()
		if tm.d != want {
			t.Errorf("crash %d: restart timer of %v, want %v", i+1, tm.d, want)
		}
		if st := h.state(0); st != control.StateWaiting {
			t.Errorf("crash %d: slot 0 %s during the backoff, want %s", i+1, st, control.StateWaiting)
		}
		h.noSpawn() // nothing starts before the timer fires
		if got := h.rotation(); !slices.Equal(got, []int{ws[1].pid}) {
			t.Errorf("crash %d: rotation %v during the backoff, want only worker 1", i+1, got)
		}
		tm.fire()
		w0 = h.spawned()
		if w0.spec.cfg.Slot != 0 {
			t.Fatalf("restart spawned slot %d", w0.spec.cfg.Slot)
		}
		h.expect(control.EventStarted)
		w0.ready()
		if o := h.expect(control.EventOnline); o.Slot != 0 || o.PID != w0.pid || o.Restarts != i+1 {
			t.Errorf("crash %d: %+v, want slot 0 online with pid %d after %d restarts", i+1, o, w0.pid, i+1)
		}
	}
	// The third young death in a row is over the budget of 2.
	w0.die(errors.New("exit status 1"))
	h.expect(control.EventCrashed)
	if e := h.expect(control.EventErrored); e.Slot != 0 || e.PID != w0.pid {
		t.Errorf("errored: %+v", e)
	}
	if st := h.state(0); st != control.StateErrored {
		t.Errorf("slot 0 %s, want %s", st, control.StateErrored)
	}
	if got := h.rotation(); !slices.Equal(got, []int{ws[1].pid}) {
		t.Errorf("rotation %v with slot 0 errored, want only worker 1", got)
	}
	st, _ := h.m.Status(context.Background())
	if r := st.Workers[0]; r.State != control.StateErrored || r.Restarts != 2 || r.PID != 0 {
		t.Errorf("status of the errored slot: %+v", r)
	}

	// A worker that was up longer than MinUptime comes back at once.
	h.os.advance(time.Minute)
	ws[1].die(errors.New("signal: killed"))
	if c := h.expect(control.EventCrashed); c.Uptime != time.Minute {
		t.Errorf("crash after a minute: %+v", c)
	}
	if r := h.expect(control.EventRestarting); r.Delay != 0 {
		t.Errorf("stable worker restarts after %v, want at once", r.Delay)
	}
	w1 := h.spawned()
	h.expect(control.EventStarted)
	w1.ready()
	h.expect(control.EventOnline)
	select {
	case tm := <-h.os.timers:
		t.Errorf("a restart at once asked for a %v timer", tm.d)
	default:
	}
	h.shutdown()
}

// TestRestartCancelledByShutdown: a restart pending in its backoff does
// not start a worker once the master shuts down.
func TestRestartCancelledByShutdown(t *testing.T) {
	h := newHarness(t, 1, Policy{})
	ws := h.start()
	ws[0].die(errors.New("exit status 1"))
	h.next(control.EventRestarting)
	tm := h.timer()
	h.shutdown()
	if tm.stop() {
		t.Error("shutdown left the restart timer running")
	}
	tm.fn() // even a timer that fired anyway starts nothing
	h.noSpawn()
}

// TestRollingReload replaces slot by slot: each replacement is ready
// before the worker it replaces is told to drain, and that one has exited
// before the next slot starts.
func TestRollingReload(t *testing.T) {
	h := newHarness(t, 3, Policy{})
	old := h.start()
	var progress []string
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- h.m.Reload(context.Background(), 1, func(s string) { mu.Lock(); progress = append(progress, s); mu.Unlock() })
	}()
	var fresh []*fakeWorker
	for i, o := range old {
		w := h.spawned()
		if w.spec.cfg.Slot != i {
			t.Fatalf("step %d replaced slot %d", i, w.spec.cfg.Slot)
		}
		if s := h.expect(control.EventStarted); s.Slot != i || s.PID != w.pid {
			t.Fatalf("step %d: %+v", i, s)
		}
		// Not ready yet: the old worker serves and was told nothing.
		if o.draining() {
			t.Fatalf("step %d: old worker told to drain before its replacement was ready", i)
		}
		if got := h.rotation(); !slices.Contains(got, o.pid) || slices.Contains(got, w.pid) {
			t.Fatalf("step %d: rotation %v while pid %d starts, want the old %d in it", i, got, w.pid, o.pid)
		}
		w.ready()
		h.expect(control.EventOnline)
		if r := h.expect(control.EventReplaced); r.Slot != i || r.PID != w.pid || r.OldPID != o.pid {
			t.Fatalf("step %d: %+v", i, r)
		}
		if d := h.expect(control.EventDraining); d.PID != o.pid {
			t.Fatalf("step %d: %+v, want pid %d draining", i, d, o.pid)
		}
		if x := h.expect(control.EventExited); x.PID != o.pid || x.Killed {
			t.Fatalf("step %d: %+v, want pid %d exited", i, x, o.pid)
		}
		fresh = append(fresh, w)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []int{fresh[0].pid, fresh[1].pid, fresh[2].pid}
	if got := h.rotation(); !slices.Equal(got, want) {
		t.Errorf("rotation %v after the reload, want %v", got, want)
	}
	st, _ := h.m.Status(context.Background())
	for _, r := range st.Workers {
		if r.Restarts != 0 || r.State != control.StateOnline {
			t.Errorf("after a reload: %+v, want online with no restart counted", r)
		}
	}
	mu.Lock()
	if len(progress) != 5 || !strings.Contains(progress[1], fmt.Sprintf("pid %d replaced by %d", old[0].pid, fresh[0].pid)) {
		t.Errorf("progress %q", progress)
	}
	mu.Unlock()
	h.shutdown()
}

// TestReloadReplacementDiesBeforeReady: the old worker keeps its slot, the
// reload stops there with what the replacement said, and no later slot is
// touched.
func TestReloadReplacementDiesBeforeReady(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	old := h.start()
	done := make(chan error, 1)
	go func() { done <- h.m.Reload(context.Background(), 1, func(string) {}) }()
	w := h.spawned()
	h.expect(control.EventStarted)
	w.last.Store("cannot open config")
	w.die(errors.New("exit status 2"))
	if f := h.expect(control.EventFailed); f.Slot != 0 || f.PID != w.pid || f.OldPID != old[0].pid || f.Exit != "exit status 2" {
		t.Errorf("%+v", f)
	}
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "did not start: exit status 2 (it said: cannot open config)") || !strings.Contains(err.Error(), "old workers keep serving") {
		t.Fatalf("Reload = %v", err)
	}
	h.noSpawn()
	if old[0].draining() || old[1].draining() {
		t.Error("an old worker was told to drain")
	}
	if got := h.rotation(); !slices.Equal(got, []int{old[0].pid, old[1].pid}) {
		t.Errorf("rotation %v, want the old workers", got)
	}
	if st := h.state(0); st != control.StateOnline {
		t.Errorf("slot 0 %s, want online", st)
	}
	h.shutdown()
}

// TestScale grows from 2 to 4 workers and back: new slots are ready when
// Scale returns, removed ones have drained and exited.
func TestScale(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	first := h.start()
	done := make(chan error, 1)
	go func() { done <- h.m.Scale(context.Background(), 4, func(string) {}) }()
	added := []*fakeWorker{h.spawned(), h.spawned()}
	for i, w := range added {
		if w.spec.cfg.Slot != 2+i {
			t.Fatalf("scale up spawned slot %d, want %d", w.spec.cfg.Slot, 2+i)
		}
	}
	if e := h.next(control.EventScaled); e.Workers != 4 {
		t.Errorf("%+v", e)
	}
	for _, w := range added {
		w.ready()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []int{first[0].pid, first[1].pid, added[0].pid, added[1].pid}
	if got := h.rotation(); !slices.Equal(got, want) {
		t.Errorf("rotation %v at 4 workers, want %v", got, want)
	}
	if st, _ := h.m.Status(context.Background()); st.Info.Workers != 4 {
		t.Errorf("info says %d workers", st.Info.Workers)
	}

	if err := h.m.Scale(context.Background(), 2, func(string) {}); err != nil {
		t.Fatal(err)
	}
	for _, w := range added {
		if !w.draining() {
			t.Errorf("removed worker %d was not told to drain", w.pid)
		}
	}
	if first[0].draining() || first[1].draining() {
		t.Error("a kept worker was told to drain")
	}
	exited := map[int]bool{}
	for range 2 {
		exited[h.next(control.EventExited).PID] = true
	}
	if !exited[added[0].pid] || !exited[added[1].pid] {
		t.Errorf("exited %v, want the removed workers", exited)
	}
	if e := h.next(control.EventScaled); e.Workers != 2 {
		t.Errorf("%+v", e)
	}
	if got := h.rotation(); !slices.Equal(got, want[:2]) {
		t.Errorf("rotation %v back at 2 workers, want %v", got, want[:2])
	}
	if st, _ := h.m.Status(context.Background()); len(st.Workers) != 2 || st.Info.Workers != 2 {
		t.Errorf("%d slots, info says %d workers", len(st.Workers), st.Info.Workers)
	}
	h.shutdown()
}

// TestShutdownGrace: shutdown tells every worker to drain, waits the grace
// (plus a second for the exit itself), then kills and reports those still
// running.
func TestShutdownGrace(t *testing.T) {
	h := newHarness(t, 3, Policy{})
	ws := h.start()
	ws[1].stubborn.Store(true)
	done := make(chan error, 1)
	go func() { done <- h.m.shutdown() }()
	tm := h.timer()
	if want := h.m.o.Grace + time.Second; tm.d != want {
		t.Errorf("shutdown waits %v, want %v", tm.d, want)
	}
	exited := map[int]control.Event{}
	for range 2 {
		e := h.next(control.EventExited)
		exited[e.PID] = e
	}
	if _, ok := exited[ws[1].pid]; ok {
		t.Fatalf("the stubborn worker exited on its own")
	}
	select {
	case <-ws[1].drain:
	case <-time.After(wait):
		t.Fatal("the stubborn worker was not asked to drain")
	}
	select {
	case err := <-done:
		t.Fatalf("shutdown returned before the grace ran out: %v", err)
	default:
	}
	tm.fire()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("killed workers [%d]", ws[1].pid)) {
		t.Errorf("shutdown = %v, want worker %d reported killed", err, ws[1].pid)
	}
	if e := h.next(control.EventExited); e.PID != ws[1].pid || !e.Killed || e.Exit != "signal: killed" {
		t.Errorf("%+v, want pid %d killed", e, ws[1].pid)
	}
	for _, w := range []*fakeWorker{ws[0], ws[2]} {
		if w.killed.Load() || exited[w.pid].Killed || exited[w.pid].Exit != "exit status 0" {
			t.Errorf("obedient worker %d: %+v, killed %v", w.pid, exited[w.pid], w.killed.Load())
		}
	}
	if st := h.state(1); st != control.StateStopped {
		t.Errorf("slot 1 %s after shutdown", st)
	}
}

// TestStartupFailureFake: a worker that dies before it is ready fails the
// start with what it said, and nothing is left running.
func TestStartupFailureFake(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	done := make(chan error, 1)
	go func() { done <- h.m.start(context.Background()) }()
	a, b := h.spawned(), h.spawned()
	a.ready()
	b.last.Store("port taken")
	b.die(errors.New("exit status 1"))
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "worker 1 exited while starting: exit status 1 (it said: port taken)") {
		t.Fatalf("start = %v", err)
	}
	if !a.draining() {
		t.Error("the worker that was ready was not shut down")
	}
}

// TestWatchOverControlSocket: Client.Watch returns once subscribed, then
// delivers the supervisor's events in order; Client.Events replays the
// recent ones. The master's workers are fakes: only the control socket is
// real.
func TestWatchOverControlSocket(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	ws := h.start()
	dir := t.TempDir() + "/ctl"
	cs, err := h.m.serveControl(dir + "/master.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer cs.close()
	c := control.Client{Path: cs.path}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws[1].die(errors.New("exit status 1"))
	for _, kind := range []control.EventKind{control.EventCrashed, control.EventRestarting} {
		e, err := w.Next(ctx, func(control.Event) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != kind || e.Slot != 1 {
			t.Errorf("event %+v, want %s of slot 1", e, kind)
		}
	}
	w.Close()
	if _, ok := <-w.Events(); ok {
		t.Error("an event after Close")
	}
	if err := w.Err(); err != nil {
		t.Errorf("Err after Close: %v", err)
	}

	var recent []control.EventKind
	if err := c.Events(ctx, false, func(e control.Event) { recent = append(recent, e.Kind) }); err != nil {
		t.Fatal(err)
	}
	want := []control.EventKind{control.EventStarted, control.EventStarted, control.EventOnline, control.EventOnline, control.EventCrashed, control.EventRestarting}
	if !slices.Equal(recent, want) {
		t.Errorf("recent events %v, want %v", recent, want)
	}
	h.timer().fire()
	h.spawned().ready()
	h.next(control.EventOnline)
	h.shutdown()
}

// TestEventBusCutsOffSlowWatcher: a watcher that stops reading loses its
// stream, closed, instead of stalling the master or missing events
// silently.
func TestEventBusCutsOffSlowWatcher(t *testing.T) {
	b := newEventBus()
	_, slow := b.subscribe()
	_, fast := b.subscribe()
	for i := range watchBuffer + 1 {
		b.publish(control.Event{Kind: control.EventOnline, Slot: i})
		<-fast
	}
	n := 0
	for range slow {
		n++
	}
	if n != watchBuffer {
		t.Errorf("slow watcher got %d events before its stream closed, want %d", n, watchBuffer)
	}
	b.unsubscribe(slow) // already cut off: no double close
	b.unsubscribe(fast)
	if recent, _ := b.subscribe(); len(recent) != eventTail || recent[len(recent)-1].Slot != watchBuffer {
		t.Errorf("kept %d recent events ending with %+v, want the last %d", len(recent), recent[len(recent)-1], eventTail)
	}
}

// TestKilledWhileStarting: a worker killed before it is ready is a crash
// like any other, restarted under the crash budget, and the start goes on
// until every slot is online; so is one that was ready and dies while the
// others still start (until startup ends, a death there left the slot
// down, or failed the whole server).
func TestKilledWhileStarting(t *testing.T) {
	h := newHarness(t, 3, Policy{MinUptime: time.Second, MaxRestarts: 2, BackoffBase: 100 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- h.m.start(context.Background()) }()
	ws := []*fakeWorker{h.spawned(), h.spawned(), h.spawned()}
	ws[0].die(errors.New("signal: killed"))
	if c := h.next(control.EventCrashed); c.Slot != 0 || c.PID != ws[0].pid {
		t.Errorf("%+v, want slot 0 crashed", c)
	}
	if r := h.expect(control.EventRestarting); r.Slot != 0 || r.Delay != 100*time.Millisecond || r.Restarts != 1 {
		t.Errorf("%+v, want slot 0 restarting after 100ms", r)
	}
	// Slot 1 gets ready, then dies while the others still start.
	ws[1].ready()
	h.next(control.EventOnline)
	ws[1].die(errors.New("signal: killed"))
	if c := h.next(control.EventCrashed); c.Slot != 1 {
		t.Errorf("%+v, want slot 1 crashed", c)
	}
	h.expect(control.EventRestarting)
	select {
	case err := <-done:
		t.Fatalf("start returned %v with two slots restarting", err)
	default:
	}
	for range 2 {
		h.timer().fire()
		w := h.spawned()
		w.ready()
	}
	ws[2].ready()
	if err := <-done; err != nil {
		t.Fatalf("start = %v, want every slot online", err)
	}
	st, _ := h.m.Status(context.Background())
	for _, r := range st.Workers {
		if r.State != control.StateOnline || (r.Slot < 2) != (r.Restarts == 1) {
			t.Errorf("worker row %+v, want online, restarted once for slots 0 and 1 only", r)
		}
	}
	h.shutdown()
}

// TestStatusWhileScaling: bench ps answers while bench scale is starting
// workers; it waited until all of them were spawned (5.1 s for scale
// 1000), because each spawn held the master's lock.
func TestStatusWhileScaling(t *testing.T) {
	h := newHarness(t, 1, Policy{})
	h.start()
	holding, release := make(chan struct{}), make(chan struct{})
	h.os.mu.Lock()
	h.os.hold = func(w workerSpec) {
		if w.cfg.Slot == 2 {
			close(holding)
			<-release
		}
	}
	h.os.mu.Unlock()
	scaled := make(chan error, 1)
	go func() { scaled <- h.m.Scale(context.Background(), 3, func(string) {}) }()
	w1 := h.spawned()
	<-holding // slot 2's worker is being spawned
	status := make(chan control.Status, 1)
	go func() {
		st, _ := h.m.Status(context.Background())
		status <- st
	}()
	select {
	case st := <-status:
		if len(st.Workers) < 2 || st.Workers[1].PID != w1.pid {
			t.Errorf("status while scaling: %+v, want slot 1 with pid %d", st.Workers, w1.pid)
		}
	case <-time.After(wait):
		t.Errorf("Status blocked for %v while a worker was being spawned", wait)
	}
	close(release)
	w1.ready()
	h.spawned().ready()
	if err := <-scaled; err != nil {
		t.Fatal(err)
	}
	h.shutdown()
}

// logSpy is a log writer whose lines a test counts.
type logSpy struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSpy) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	return len(b), nil
}

// count returns how many lines contain s.
func (l *logSpy) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// conn returns a descriptor to hand off as a connection.
func conn(t *testing.T) handoff {
	t.Helper()
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return handoff{id: uint64(fd) << 8, fd: fd}
}

// parked waits until the master holds n connections no worker can take.
func (h *harness) parked(n int) {
	h.t.Helper()
	if err := h.m.waitFor(context.Background(), wait, func() bool { return len(h.m.parked) == n }); err != nil {
		var got int
		h.m.do(func() { got = len(h.m.parked) })
		h.t.Fatalf("%d connections parked, want %d: %v", got, n, err)
	}
}

// TestOutOfDescriptors: a worker that refuses a connection for want of
// descriptors gets none for a backoff that doubles while it keeps
// refusing, and is logged once for the burst; with every worker out, the
// master parks what it holds and stops accepting, and gives it all to the
// first worker that takes one again. (Each refused connection went to the
// next worker, as full, and round again: the master and both workers
// spun, 8,000 hand-offs a second, saying nothing.)
func TestOutOfDescriptors(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	spy := &logSpy{}
	h.m.log = newLogSink(spy)
	ws := h.start()
	for _, w := range ws {
		w.answering(ipc.ConnNoFDs)
	}
	h.m.dispatch(conn(t), nil)
	h.parked(1) // refused by both
	for range 3 {
		h.m.dispatch(conn(t), nil)
	}
	h.parked(4)
	if a, b := ws[0].passed.Load(), ws[1].passed.Load(); a != 1 || b != 1 {
		t.Errorf("workers were passed %d and %d connections, want 1 each: none is offered to a worker out of descriptors", a, b)
	}
	if h.accepting() {
		t.Error("the master accepts while no worker can take a connection")
	}
	if n := spy.count("out of file descriptors"); n != 2 {
		t.Errorf("%d log lines about descriptors, want one per worker:\n%s", n, strings.Join(spy.lines, "\n"))
	}
	retry := map[int]*fakeTimer{}
	for range 2 {
		tm := h.timer()
		if tm.d != fdBackoffMin {
			t.Errorf("a worker is offered a connection again after %v, want %v", tm.d, fdBackoffMin)
		}
		retry[len(retry)] = tm
	}
	// Worker 0 is offered them again, still refuses: its backoff doubles,
	// and nothing more is logged.
	retry[0].fire()
	tm := h.timer()
	if tm.d != 2*fdBackoffMin {
		t.Errorf("backoff %v after a second refusal, want %v", tm.d, 2*fdBackoffMin)
	}
	h.parked(4)
	// Descriptors free up: the next offer is taken, and so is the rest.
	ws[0].answering(ipc.ConnTaken)
	for len(ws[0].conns) > 0 {
		<-ws[0].conns
	}
	tm.fire()
	for i := range 4 {
		select {
		case <-ws[0].conns:
		case <-time.After(wait):
			t.Fatalf("worker 0 was passed %d connections once it had descriptors, want the 4 parked", i)
		}
	}
	if err := h.m.waitFor(context.Background(), wait, func() bool { return !h.m.slots[0].cur.fdBurst }); err != nil {
		t.Fatalf("worker 0 took a connection, and is still out of descriptors: %v", err)
	}
	h.parked(0)
	if !h.accepting() {
		t.Error("the master does not accept with a worker back")
	}
	if n := spy.count("out of file descriptors"); n != 2 {
		t.Errorf("%d log lines about descriptors after the retries, want 2", n)
	}
	if n := spy.count("takes connections again"); n != 1 {
		t.Errorf("%d log lines about worker 0 coming back, want 1:\n%s", n, strings.Join(spy.lines, "\n"))
	}
	h.shutdown()
}

// TestUnresponsiveWorker: a worker that leaves a passed connection
// unacknowledged for ackLimit (stopped, wedged) is passed no more, shown
// unresponsive, responsive again once it answers; and one that stays so
// for UnresponsiveRestart is killed and restarted, what it never took
// going to the others. (rr kept passing every other connection to a
// stopped worker, and bench ps showed it online.)
func TestUnresponsiveWorker(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	h.m.o.UnresponsiveRestart = 30 * time.Second
	ws := h.start()
	ws[1].answering(ipc.ConnTaken) // worker 0 answers nothing: stopped
	passed := func(w *fakeWorker, n int) []uint64 {
		t.Helper()
		var ids []uint64
		for range n {
			select {
			case id := <-w.conns:
				ids = append(ids, id)
			case <-time.After(wait):
				t.Fatalf("worker pid %d was passed %d connections, want %d", w.pid, len(ids), n)
			}
		}
		return ids
	}
	// settle returns once the master has read every answer the workers
	// sent so far: they answer in order, a status request last.
	settle := func() { h.m.Status(context.Background()) }
	h.m.dispatch(conn(t), nil)
	first := passed(ws[0], 1)[0]
	h.os.advance(ackLimit + time.Millisecond)
	for range 4 {
		h.m.dispatch(conn(t), nil)
	}
	passed(ws[1], 4)
	settle()
	if n := ws[0].passed.Load(); n != 1 {
		t.Errorf("the worker that left a connection unacknowledged for %v was passed %d, want none more", ackLimit, n-1)
	}
	h.checkAcks(h.os.clock())
	if e := h.next(control.EventUnresponsive); e.Slot != 0 || e.PID != ws[0].pid {
		t.Errorf("%+v, want slot 0 unresponsive", e)
	}
	st, _ := h.m.Status(context.Background())
	if st.Workers[0].State != control.StateUnresponsive || st.Workers[1].State != control.StateOnline {
		t.Errorf("status %+v, want slot 0 unresponsive, slot 1 online", st.Workers)
	}
	// It answers: it is passed connections again.
	ws[0].answering(ipc.ConnTaken)
	ws[0].end.Send(ipc.Msg{Kind: ipc.KindConnAck, ID: first, Val: ipc.ConnTaken}, -1)
	if e := h.next(control.EventResponsive); e.Slot != 0 {
		t.Errorf("%+v, want slot 0 responsive", e)
	}
	h.m.dispatch(conn(t), nil)
	h.m.dispatch(conn(t), nil)
	passed(ws[0], 1)
	passed(ws[1], 1)

	// Stopped again, for good: after UnresponsiveRestart it is killed and
	// restarted, and the connection it held goes to worker 1.
	ws[0].answering(silent)
	for held := false; !held; {
		h.m.dispatch(conn(t), nil)
		select {
		case <-ws[0].conns:
			held = true
		case <-ws[1].conns:
		case <-time.After(wait):
			t.Fatal("a connection was passed to neither worker")
		}
	}
	settle()
	h.os.advance(ackLimit + time.Millisecond)
	h.checkAcks(h.os.clock())
	h.next(control.EventUnresponsive)
	h.os.advance(h.m.o.UnresponsiveRestart)
	h.checkAcks(h.os.clock())
	if c := h.next(control.EventCrashed); c.Slot != 0 || c.PID != ws[0].pid || !ws[0].killed.Load() {
		t.Errorf("%+v, want worker 0 killed", c)
	}
	passed(ws[1], 1) // what it held
	w := h.spawned()
	w.ready()
	if o := h.next(control.EventOnline); o.Slot != 0 || o.PID != w.pid {
		t.Errorf("%+v, want slot 0 back with pid %d", o, w.pid)
	}
	h.shutdown()
}

// TestDownStopsListening: once every slot is errored, the server stops
// listening, so a connect (a TCP health check) is refused instead of
// accepted and reset or left waiting; a reload listens again, on the same
// port, before its worker starts. (The port accepted and reset every
// connection while nothing could serve.)
func TestDownStopsListening(t *testing.T) {
	h := newHarness(t, 1, Policy{MinUptime: time.Second, MaxRestarts: 1})
	ln, err := listenFixed("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.m.o.Sched, h.m.addr = models.SchedOS, ln.Addr().String()
	if h.m.lnFD, err = dupFD(ln.(*net.TCPListener)); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	defer closeFD(h.m.lnFD)
	dial := func() error {
		c, err := net.DialTimeout("tcp", h.m.addr, wait)
		if err == nil {
			c.Close()
		}
		return err
	}
	ws := h.start()
	if err := dial(); err != nil {
		t.Fatalf("serving: %v", err)
	}
	ws[0].die(errors.New("exit status 1"))
	h.next(control.EventRestarting)
	h.timer().fire()
	w := h.spawned()
	w.ready()
	h.next(control.EventOnline)
	w.die(errors.New("exit status 1"))
	h.next(control.EventErrored)
	if e := h.next(control.EventDown); e.Slot != -1 {
		t.Errorf("%+v", e)
	}
	if err := dial(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect with every slot errored: %v, want connection refused", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.m.Reload(context.Background(), 1, func(string) {}) }()
	h.next(control.EventUp)
	if err := dial(); err != nil {
		t.Errorf("connect once a worker starts again: %v", err)
	}
	h.spawned().ready()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	h.shutdown()
}

// TestParkedRetriedOnAck: a connection parked because every worker was
// late with an acknowledgement (the whole server stopped for a while, as
// bench scenario stall does) goes out as soon as one answers, though
// none was marked unresponsive.
func TestParkedRetriedOnAck(t *testing.T) {
	h := newHarness(t, 2, Policy{})
	ws := h.start()
	var held []uint64
	for _, w := range ws {
		h.m.next.Store(uint64(w.spec.cfg.Slot))
		h.m.dispatch(conn(t), nil)
		select {
		case id := <-w.conns:
			held = append(held, id)
		case <-time.After(wait):
			t.Fatalf("worker %d was passed nothing", w.spec.cfg.Slot)
		}
	}
	h.os.advance(2 * ackLimit) // the master was stopped too: nothing checked meanwhile
	h.m.dispatch(conn(t), nil)
	h.parked(1)
	ws[1].answering(ipc.ConnTaken)
	ws[1].end.Send(ipc.Msg{Kind: ipc.KindConnAck, ID: held[1], Val: ipc.ConnTaken}, -1)
	select {
	case <-ws[1].conns:
	case <-time.After(wait):
		t.Fatal("the parked connection was not passed to the worker that answered")
	}
	h.parked(0)
	h.shutdown()
}
