//go:build linux

package prefork

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// ackLimit bounds how long a worker may leave a passed connection
// unacknowledged: past it, the worker is unresponsive (stopped, wedged)
// and is passed no more until it answers. A live worker acknowledges in
// microseconds, milliseconds when its CPU is contended.
const ackLimit = time.Second

// A worker that refuses a connection for want of descriptors is offered
// none for fdBackoffMin, then twice as long each time it refuses again, up
// to fdBackoffMax.
const (
	fdBackoffMin = 10 * time.Millisecond
	fdBackoffMax = time.Second
)

// handoff is a connection the master accepted and passes to a worker.
type handoff struct {
	id   uint64 // set by the send loop of the worker it is passed to, for that worker's answer
	fd   int
	peer []byte // client address, for sticky
}

// view is what the data path reads for every connection, as the owner
// last published it (publish): a snapshot, so that the accept loops and
// dispatch never wait for the owner, who may be busy with a restart.
type view struct {
	rot    []*proc       // the workers that may be offered a connection, in slot order
	slots  int           // how many slots there are: sticky hashes over them
	open   bool          // the accept loops may accept (see publish)
	parked bool          // connections wait in Master.parked for a worker
	wake   chan struct{} // closed when a newer view replaces this one
}

// startAccepting runs an accept loop on a non-blocking listening socket
// until it is closed; done ends it while it waits for the gate.
func (m *Master) startAccepting(f *os.File, done <-chan struct{}) {
	m.accepts.Add(1)
	go func() {
		defer m.accepts.Done()
		m.acceptLoop(f, done)
	}()
}

// errGateClosed is what the accept loop's accept "fails" with when it did
// not accept because no worker can take a connection now.
var errGateClosed = errors.New("accept gate closed")

// acceptLoop is the master's only job on the data path under rr and
// sticky (and for sockets it relays): accept a connection and hand its
// descriptor to a worker. It calls accept4 itself, so a connection costs
// no Go object in the master. It accepts only while the gate is open
// (publish): while no worker can take a connection, new ones wait in
// the kernel's accept queue, as with nginx, not in the master. It returns
// when f is closed or done is.
func (m *Master) acceptLoop(f *os.File, done <-chan struct{}) {
	rc, err := f.SyscallConn()
	if err != nil {
		m.log.printf("ERROR: listener: %v", err)
		return
	}
	sticky := m.o.Sched == models.SchedSticky
	var failed int                  // accepts failed in a row for want of descriptors or memory
	backoff := 5 * time.Millisecond // as net/http's Server backs off
	for {
		if v := m.view.Load(); !v.open {
			select {
			case <-v.wake: // a newer view: look again
			case <-done:
				return
			}
			continue
		}
		var nfd int
		var sa unix.Sockaddr
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			if !m.view.Load().open {
				aerr = errGateClosed
				return true
			}
			nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
			return aerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		switch aerr {
		case nil:
			if failed > 0 {
				m.log.printf("accepting again, after %d accepts failed for want of descriptors or memory", failed)
				failed, backoff = 0, 5*time.Millisecond
			}
			h := handoff{fd: nfd}
			if sticky {
				h.peer = peerIP(sa)
			}
			m.dispatch(h, nil)
		case errGateClosed, unix.ECONNABORTED, unix.EINTR:
		case unix.EINVAL:
			if m.view.Load().open {
				m.log.printf("ERROR: accept: %v", aerr)
				return
			}
			// Not listening (pauseIfDown): the gate holds the loop.
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			if failed++; failed == 1 {
				m.log.printf("accept: %v: the master is out of descriptors or memory (ulimit -n?); retrying every %v to %v, new connections wait in the accept queue", aerr, backoff, time.Second)
			}
			time.Sleep(backoff) // no event says that descriptors freed up
			backoff = min(2*backoff, time.Second)
		default:
			m.log.printf("ERROR: accept: %v", aerr)
			return
		}
	}
}

func peerIP(sa unix.Sockaddr) []byte {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Addr[:]
	case *unix.SockaddrInet6:
		return a.Addr[:]
	}
	return nil
}

// dispatch gives h to a worker (offer) or, when none takes it, to the
// owner to park. It runs anywhere but on the owner, whose park does both.
func (m *Master) dispatch(h handoff, except *proc) {
	if m.offer(h, except) {
		return
	}
	if !m.do(func() { m.park(h, except) }) {
		closeFD(h.fd) // the master has stopped
	}
}

// offer gives h to a worker of the view: under sticky the one its client
// address hashes to, otherwise the next in the rotation. It skips except
// (which refused it) and any worker whose queue is full, that is dying or
// that left a connection unacknowledged for ackLimit (proc.offer); the
// view already leaves out those that are unresponsive or out of
// descriptors. It reports whether one took it.
func (m *Master) offer(h handoff, except *proc) bool {
	v := m.view.Load()
	if len(v.rot) == 0 {
		return false
	}
	now := m.env.now()
	n := uint64(len(v.rot))
	var start uint64
	if h.peer != nil {
		start = stickySlot(h.peer, v)
	} else {
		start = m.next.Add(1) - 1
	}
	for i := range n {
		p := v.rot[(start+i)%n]
		if p != except && p.offer(h, now) {
			return true
		}
	}
	return false
}

// park, on the owner, offers h again (the view may have changed since the
// caller looked) and, failing that, keeps it until a worker can take it:
// a connection is never dropped while any worker may come back. It is
// closed when the master shuts down or every slot is errored.
func (m *Master) park(h handoff, except *proc) {
	if m.offer(h, except) {
		return
	}
	if !m.stopping && m.anyComing() && len(m.parked) < 65536 {
		m.parked = append(m.parked, h)
		if len(m.parked) == 1 {
			m.publish()
		}
		return
	}
	closeFD(h.fd)
}

// stickySlot returns the rotation position of the worker a client's
// address maps to: the slot its hash picks among all slots, so a client
// keeps its worker while the slot serves; if that slot cannot take it,
// the next one that can, as sticky-session modules fall back.
func stickySlot(ip []byte, v *view) uint64 {
	h := fnv.New32a()
	h.Write(ip)
	want := int(h.Sum32() % uint32(max(v.slots, 1)))
	for i, p := range v.rot {
		if p.slot.index >= want {
			return uint64(i)
		}
	}
	return 0
}

// anyComing reports whether some slot is or will be serving.
func (m *Master) anyComing() bool {
	for _, s := range m.slots {
		if s.state != control.StateErrored && s.state != control.StateStopped {
			return true
		}
	}
	return false
}

// offer queues h for p unless p is dead, retiring, unresponsive, out of
// descriptors, late with an answer (it left a connection unacknowledged
// for ackLimit by now) or backed up.
func (p *proc) offer(h handoff, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.takes(now) {
		return false
	}
	select {
	case p.queue <- h:
		return true
	default:
		return false
	}
}

// sendLoop passes queued connections to worker p, and, once retire closes
// p.shut, the shutdown after them, so none is sent to a worker that
// already stopped taking them. The handoff ids are its own: they only
// pair a connection with p's answer.
func (m *Master) sendLoop(p *proc) {
	var id uint64
	send := func(h handoff) {
		id++
		h.id = id
		p.mu.Lock()
		p.pending[h.id] = h.fd
		p.sent = append(p.sent, sent{h.id, m.env.now()})
		p.mu.Unlock()
		if err := p.ch.Send(ipc.Msg{Kind: ipc.KindConn, ID: h.id}, h.fd); err != nil {
			p.mu.Lock()
			_, still := p.pending[h.id]
			delete(p.pending, h.id)
			p.mu.Unlock()
			if still {
				m.dispatch(h, p)
			}
		}
	}
	shut := p.shut
	for {
		select {
		case h := <-p.queue:
			send(h)
		case <-shut:
			// p is closed: its queue only shrinks now.
			for len(p.queue) > 0 {
				send(<-p.queue)
			}
			p.ch.Send(ipc.Msg{Kind: ipc.KindShutdown}, -1)
			shut = nil
		case <-p.exited:
			return
		}
	}
}

// takes reports, under p.mu, whether p may be offered a connection now:
// it is alive and staying, responsive, has descriptors, and has
// acknowledged every connection passed to it more than ackLimit ago.
func (p *proc) takes(now time.Time) bool {
	if p.dead || p.closed || p.resting {
		return false
	}
	at, ok := p.oldest()
	return !ok || now.Sub(at) <= ackLimit
}

// sent is when a handoff was passed to a worker.
type sent struct {
	id uint64
	at time.Time
}

// oldest returns, under p.mu, when the oldest connection p has not
// acknowledged was passed to it, if there is one. A worker acknowledges
// in order, so that is the first of p.sent still pending.
func (p *proc) oldest() (time.Time, bool) {
	for len(p.sent) > 0 {
		if _, ok := p.pending[p.sent[0].id]; ok {
			return p.sent[0].at, true
		}
		p.sent = p.sent[1:]
	}
	p.sent = nil // let the array go
	return time.Time{}, false
}

// rebuild, on the owner, stops listening if no worker can serve any more
// (pauseIfDown) and publishes the view.
func (m *Master) rebuild() {
	m.pauseIfDown()
	m.publish()
}

// publish makes the owner's state the data path's view: the rotation is
// the serving worker of each slot, in slot order, less those unresponsive
// or out of descriptors; the accept loops accept while some worker can
// take a connection, or while none serves yet (a restart: what they
// accept is parked until it is ready).
func (m *Master) publish() {
	v := &view{slots: len(m.slots), parked: len(m.parked) > 0, wake: make(chan struct{})}
	serving := 0
	for _, s := range m.slots {
		if p := s.serving(); p != nil {
			serving++
			if !p.hung && !p.noFDs {
				v.rot = append(v.rot, p)
			}
		}
	}
	v.open = !m.paused && (len(v.rot) > 0 || serving == 0)
	close(m.view.Swap(v).wake)
}

// unpark, on the owner, returns the parked connections, to dispatch again.
func (m *Master) unpark() []handoff {
	parked := m.parked
	m.parked = nil
	if len(parked) > 0 {
		m.publish()
	}
	return parked
}

// unparkAll, on the owner, offers the parked connections again: a worker
// can take them now.
func (m *Master) unparkAll() {
	for _, h := range m.unpark() {
		m.park(h, nil)
	}
}

// acked handles p's answer to a connection whose descriptor the master
// still holds as fd; flagged says p was hung or refusing for want of
// descriptors when it answered, which only the owner sorts out.
func (m *Master) acked(p *proc, fd int, answer int64, flagged bool) {
	if flagged || answer == ipc.ConnNoFDs {
		m.do(func() { m.answered(p, answer) })
	}
	if answer != ipc.ConnTaken {
		m.dispatch(handoff{fd: fd}, p)
		return
	}
	closeFD(fd) // the worker has its own descriptor now
	// Connections were parked while no worker could take one (all late
	// with an answer, or backed up), and this one can now: nothing else
	// would send them on.
	if m.view.Load().parked {
		p.mu.Lock()
		takes := p.takes(m.env.now())
		p.mu.Unlock()
		if takes {
			m.do(m.unparkAll)
		}
	}
}

// answered, on the owner, handles an answer of p's that changes its
// state: one from a worker marked unresponsive, a refusal for want of
// descriptors, or the first connection it takes after those.
func (m *Master) answered(p *proc, answer int64) {
	if p.hung {
		m.checkAcks(m.env.now(), p)
	}
	switch {
	case answer == ipc.ConnNoFDs:
		m.outOfFDs(p)
	case answer == ipc.ConnTaken && p.fdBurst:
		m.fdsBack(p)
	}
}

// flag tells the data path what the owner decided about p: whether its
// answers go to the owner, and whether it is offered connections. The
// view says the latter too, but a dispatcher may hold an older one.
func (p *proc) flag() {
	p.mu.Lock()
	p.flagged = p.hung || p.fdBurst
	p.resting = p.hung || p.noFDs
	p.mu.Unlock()
}

// outOfFDs offers p, which refused a connection for want of descriptors,
// none for a backoff that doubles while it goes on refusing (fdBackoffMin
// to fdBackoffMax): it cannot tell the master when descriptors free up,
// so it is asked again now and then, with one connection's hand-off.
// The burst is logged once, when it starts, and once when it ends.
func (m *Master) outOfFDs(p *proc) {
	p.fdRefused++
	if p.noFDs {
		return // it refused what was already on its way; a retry is scheduled
	}
	if p.fdBurst {
		p.fdBackoff = min(2*p.fdBackoff, fdBackoffMax)
	} else {
		p.fdBackoff = fdBackoffMin
		m.log.printf("worker %d (pid %d) is out of file descriptors (ulimit -n): it refused a connection; the others get its connections, and it is offered one again in %v, then less often, up to every %v",
			p.slot.index, p.pid, p.fdBackoff, fdBackoffMax)
	}
	p.fdBurst, p.noFDs = true, true
	p.flag()
	m.rebuild()
	m.env.afterFunc(p.fdBackoff, func() { m.do(func() { m.retryFDs(p) }) })
}

// retryFDs offers p connections again after its backoff: the parked ones
// first.
func (m *Master) retryFDs(p *proc) {
	p.noFDs = false
	p.flag()
	m.rebuild()
	m.unparkAll()
}

// fdsBack ends p's burst of refusals: it took a connection.
func (m *Master) fdsBack(p *proc) {
	p.fdBurst = false
	p.flag()
	m.log.printf("worker %d (pid %d) takes connections again; it refused %d while out of descriptors", p.slot.index, p.pid, p.fdRefused)
	p.fdRefused = 0
}

// checkAcks, on the owner, marks the workers (only, if one is given) that
// left a connection unacknowledged for ackLimit unresponsive: passed no
// more connections until they answer, their queued ones given to the
// others, shown so by Status, and, after Options.UnresponsiveRestart of
// it, killed and restarted as after a crash, when their unacknowledged
// connections go to the others too. One that answers again is
// responsive. The sampler calls it every second; an acknowledgement from
// an unresponsive worker calls it for that one.
func (m *Master) checkAcks(now time.Time, only ...*proc) {
	procs := only
	if len(procs) == 0 {
		for p := range m.procs {
			procs = append(procs, p)
		}
	}
	for _, p := range procs {
		p.mu.Lock()
		at, ok := p.oldest()
		gone := p.dead || p.retiring
		p.mu.Unlock()
		late := ok && now.Sub(at) > ackLimit && !gone
		switch {
		case late && !p.hung:
			p.hung, p.hungSince = true, now
			p.flag()
			restart := "left as it is (--unresponsive-restart 0)"
			if d := m.o.UnresponsiveRestart; d > 0 {
				restart = fmt.Sprintf("restarted if it still has not in %v (--unresponsive-restart)", d)
			}
			m.log.printf("worker %d (pid %d) has not taken a connection passed to it %v ago: unresponsive (stopped? wedged?); the others get its connections, and it is %s",
				p.slot.index, p.pid, now.Sub(at).Round(time.Millisecond), restart)
			m.emit(control.Event{Kind: control.EventUnresponsive, Slot: p.slot.index, PID: p.pid})
			m.rebuild()
			for _, h := range p.unqueue() {
				m.park(h, p)
			}
		case late && m.o.UnresponsiveRestart > 0 && now.Sub(p.hungSince) >= m.o.UnresponsiveRestart && !p.killed:
			m.log.printf("worker %d (pid %d) unresponsive for %v: killing it; it is restarted as after a crash, and what it never took goes to the others",
				p.slot.index, p.pid, now.Sub(p.hungSince).Round(time.Millisecond))
			p.killed = true
			p.os.Kill()
		case !late && p.hung:
			p.hung = false
			p.flag()
			m.log.printf("worker %d (pid %d) answers again, after %v unresponsive", p.slot.index, p.pid, now.Sub(p.hungSince).Round(time.Millisecond))
			if !gone {
				m.emit(control.Event{Kind: control.EventResponsive, Slot: p.slot.index, PID: p.pid})
			}
			m.rebuild()
			m.unparkAll()
		}
	}
}

// unqueue takes back the connections queued for p and not sent yet.
func (p *proc) unqueue() []handoff {
	var hs []handoff
	for {
		select {
		case h := <-p.queue:
			hs = append(hs, h)
		default:
			return hs
		}
	}
}

// rescue gives the connections a dead worker never took to the others.
func (m *Master) rescue(p *proc) {
	p.mu.Lock()
	var hs []handoff
	for _, fd := range p.pending {
		hs = append(hs, handoff{fd: fd})
	}
	p.pending = map[uint64]int{}
	p.mu.Unlock()
	hs = append(hs, p.unqueue()...)
	for _, h := range hs {
		m.dispatch(h, p)
	}
}

// orphan is a reuseport socket no worker accepts on any more (its slot was
// removed by scale, or errored). Closing it would reset every connection
// the kernel queued there, and it cannot leave the port's reuseport group
// without closing, so the master keeps it and relays what arrives on it to
// the workers, until a new slot takes it over.
type orphan struct {
	sock int           // the socket itself
	f    *os.File      // a polled duplicate the relay accepts on
	done chan struct{} // closed by stop
}

// adopt turns slot s's reuseport socket into an orphan the master relays.
func (m *Master) adopt(s *slot) {
	if s.sock < 0 || m.stopping {
		return
	}
	o := &orphan{sock: s.sock, done: make(chan struct{})}
	s.sock = -1
	// The socket is non-blocking (the worker's runtime made it so), so
	// its *os.File is one the runtime polls.
	if f, err := fileOf(o.sock, "reuseport-orphan"); err == nil {
		o.f = f
		m.startAccepting(f, o.done)
	}
	m.orphans = append(m.orphans, o)
	m.log.printf("relaying the connections the kernel still sends to slot %d's socket to the other workers", s.index)
}

// reclaim returns an orphan socket for a new slot to take over, or -1.
func (m *Master) reclaim() int {
	if len(m.orphans) == 0 {
		return -1
	}
	o := m.orphans[len(m.orphans)-1]
	m.orphans = m.orphans[:len(m.orphans)-1]
	o.stop()
	return o.sock
}

// stop ends the relay; the socket stays open.
func (o *orphan) stop() {
	if o.f != nil {
		o.f.Close()
		o.f = nil
		close(o.done)
	}
}
