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

// handoff is a connection the master accepted and passes to a worker. A
// negative fd is the shutdown, queued behind the connections.
type handoff struct {
	id   uint64
	fd   int
	peer []byte // client address, for sticky
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
// (gateLocked): while no worker can take a connection, new ones wait in
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
		if !m.acceptOpen.Load() {
			m.mu.Lock()
			wake, open := m.acceptWake, m.acceptOpen.Load()
			m.mu.Unlock()
			if !open {
				select {
				case <-wake:
				case <-done:
					return
				}
			}
			continue
		}
		var nfd int
		var sa unix.Sockaddr
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			if !m.acceptOpen.Load() {
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
			h := handoff{id: m.hid.Add(1), fd: nfd}
			if sticky {
				h.peer = peerIP(sa)
			}
			m.dispatch(h, nil)
		case errGateClosed, unix.ECONNABORTED, unix.EINTR:
		case unix.EINVAL:
			if m.acceptOpen.Load() {
				m.log.printf("ERROR: accept: %v", aerr)
				return
			}
			// Not listening (pauseIfDownLocked): the gate holds the loop.
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

// dispatch gives h to a worker: under sticky the one its client address
// hashes to, otherwise the next in the rotation. It skips except (which
// refused it) and any worker whose queue is full, that is dying or that
// is out of descriptors. With no worker able to take it, h is parked
// until one can: a connection is never dropped while any worker may
// come back.
func (m *Master) dispatch(h handoff, except *proc) {
	if rot := *m.rotationOrEmpty(); len(rot) > 0 {
		now := m.env.now()
		n := uint64(len(rot))
		var start uint64
		if h.peer != nil {
			start = m.stickySlot(h.peer, rot)
		} else {
			start = m.next.Add(1) - 1
		}
		for i := range n {
			p := rot[(start+i)%n]
			if p != except && p.offer(h, now) {
				return
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stopping && m.anyComingLocked() && len(m.parked) < 65536 {
		m.parked = append(m.parked, h)
		m.nparked.Store(int64(len(m.parked)))
		m.notifyLocked()
		return
	}
	closeFD(h.fd) // shutting down, or every slot is errored: nobody will ever serve it
}

// stickySlot returns the rotation position of the worker a client's
// address maps to: the slot its hash picks among all slots, so a client
// keeps its worker while the slot serves; if that slot is down, the next
// one that serves, as sticky-session modules fall back.
func (m *Master) stickySlot(ip []byte, rot []*proc) uint64 {
	h := fnv.New32a()
	h.Write(ip)
	m.mu.Lock()
	slots := len(m.slots)
	m.mu.Unlock()
	want := int(h.Sum32() % uint32(max(slots, 1)))
	for i, p := range rot {
		if p.slot.index >= want {
			return uint64(i)
		}
	}
	return 0
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
		if s.state != control.StateErrored && s.state != control.StateStopped {
			return true
		}
	}
	return false
}

// offer queues h for p unless p is dead, retiring, out of descriptors,
// unresponsive (it left a connection unacknowledged for ackLimit by now)
// or backed up.
func (p *proc) offer(h handoff, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.takesLocked(now) {
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
				p.ch.Send(ipc.Msg{Kind: ipc.KindShutdown}, -1)
				continue
			}
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
		case <-p.exited:
			return
		}
	}
}

// takesLocked reports whether p may be offered a connection now: it is
// alive and staying, has descriptors, and has acknowledged every
// connection passed to it more than ackLimit ago.
func (p *proc) takesLocked(now time.Time) bool {
	if p.dead || p.retiring.Load() || p.noFDs.Load() || p.hung.Load() {
		return false
	}
	at, ok := p.oldestLocked()
	return !ok || now.Sub(at) <= ackLimit
}

// sent is when a handoff was passed to a worker.
type sent struct {
	id uint64
	at time.Time
}

// oldestLocked returns when the oldest connection p has not acknowledged
// was passed to it, if there is one. A worker acknowledges in order, so
// that is the first of p.sent still pending.
func (p *proc) oldestLocked() (time.Time, bool) {
	for len(p.sent) > 0 {
		if _, ok := p.pending[p.sent[0].id]; ok {
			return p.sent[0].at, true
		}
		p.sent = p.sent[1:]
	}
	p.sent = nil // let the array go
	return time.Time{}, false
}

// available reports whether p may be offered a connection now, as far as
// the accept gate is concerned.
func (p *proc) available() bool { return !p.noFDs.Load() && !p.hung.Load() }

// gateLocked opens or closes the accept loops' gate: they accept while
// some worker in the rotation can take a connection, or while none serves
// yet (a restart: what they accept is parked until it is ready).
func (m *Master) gateLocked() {
	m.pauseIfDownLocked()
	rot := *m.rotationOrEmpty()
	open := !m.paused && len(rot) == 0
	for _, p := range rot {
		if p.available() && !m.paused {
			open = true
			break
		}
	}
	switch {
	case open && !m.acceptOpen.Load():
		m.acceptOpen.Store(true)
		close(m.acceptWake)
		m.acceptWake = make(chan struct{})
	case !open:
		m.acceptOpen.Store(false)
	}
}

// unparkLocked returns the parked connections, to dispatch once m.mu is
// released.
func (m *Master) unparkLocked() []handoff {
	parked := m.parked
	m.parked = nil
	m.nparked.Store(0)
	if len(parked) > 0 {
		m.notifyLocked()
	}
	return parked
}

// acked handles p's answer to handoff id, whose descriptor the master
// still holds as fd.
func (m *Master) acked(p *proc, id uint64, fd int, answer int64) {
	if p.hung.Load() {
		m.checkAcks(m.env.now(), p)
	}
	switch answer {
	case ipc.ConnTaken:
		closeFD(fd) // the worker has its own descriptor now
		if p.fdBurst.Load() {
			m.fdsBack(p)
		}
	case ipc.ConnNoFDs:
		m.outOfFDs(p)
		m.dispatch(handoff{id: id, fd: fd}, p)
		return
	default:
		m.dispatch(handoff{id: id, fd: fd}, p)
		return
	}
	// Connections were parked while no worker could take one (all late
	// with an answer, or backed up), and this one can now: nothing else
	// would send them on.
	if m.nparked.Load() > 0 {
		p.mu.Lock()
		takes := p.takesLocked(m.env.now())
		p.mu.Unlock()
		if takes {
			m.mu.Lock()
			parked := m.unparkLocked()
			m.mu.Unlock()
			for _, h := range parked {
				m.dispatch(h, nil)
			}
		}
	}
}

// outOfFDs offers p, which refused a connection for want of descriptors,
// none for a backoff that doubles while it goes on refusing (fdBackoffMin
// to fdBackoffMax): it cannot tell the master when descriptors free up,
// so it is asked again now and then, with one connection's hand-off.
// The burst is logged once, when it starts, and once when it ends.
func (m *Master) outOfFDs(p *proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.fdRefused++
	if p.noFDs.Load() {
		return // it refused what was already on its way; a retry is scheduled
	}
	if p.fdBurst.Swap(true) {
		p.fdBackoff = min(2*p.fdBackoff, fdBackoffMax)
	} else {
		p.fdBackoff = fdBackoffMin
		m.log.printf("worker %d (pid %d) is out of file descriptors (ulimit -n): it refused a connection; the others get its connections, and it is offered one again in %v, then less often, up to every %v",
			p.slot.index, p.pid, p.fdBackoff, fdBackoffMax)
	}
	p.noFDs.Store(true)
	m.gateLocked()
	m.notifyLocked()
	m.env.afterFunc(p.fdBackoff, func() { m.retryFDs(p) })
}

// retryFDs offers p connections again after its backoff: the parked ones
// first.
func (m *Master) retryFDs(p *proc) {
	m.mu.Lock()
	p.noFDs.Store(false)
	m.gateLocked()
	parked := m.unparkLocked()
	m.mu.Unlock()
	for _, h := range parked {
		m.dispatch(h, nil)
	}
}

// fdsBack ends p's burst of refusals: it took a connection.
func (m *Master) fdsBack(p *proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.fdBurst.Swap(false) {
		m.log.printf("worker %d (pid %d) takes connections again; it refused %d while out of descriptors", p.slot.index, p.pid, p.fdRefused)
		p.fdRefused = 0
		m.notifyLocked()
	}
}

// checkAcks marks the workers (only, if one is given) that left a
// connection unacknowledged for ackLimit unresponsive: passed no more
// connections until they answer, their queued ones given to the others,
// shown so by Status, and, after Options.UnresponsiveRestart of it,
// killed and restarted as after a crash, when their unacknowledged
// connections go to the others too. One that answers again is responsive.
// The sampler calls it every second; an acknowledgement from an
// unresponsive worker calls it for that one.
func (m *Master) checkAcks(now time.Time, only ...*proc) {
	m.mu.Lock()
	procs := only
	if len(procs) == 0 {
		for p := range m.procs {
			procs = append(procs, p)
		}
	}
	var back []handoff
	for _, p := range procs {
		p.mu.Lock()
		at, ok := p.oldestLocked()
		gone := p.dead || p.retiring.Load()
		p.mu.Unlock()
		late := ok && now.Sub(at) > ackLimit && !gone
		switch {
		case late && !p.hung.Load():
			p.hung.Store(true)
			p.hungSince = now
			restart := "left as it is (--unresponsive-restart 0)"
			if d := m.o.UnresponsiveRestart; d > 0 {
				restart = fmt.Sprintf("restarted if it still has not in %v (--unresponsive-restart)", d)
			}
			m.log.printf("worker %d (pid %d) has not taken a connection passed to it %v ago: unresponsive (stopped? wedged?); the others get its connections, and it is %s",
				p.slot.index, p.pid, now.Sub(at).Round(time.Millisecond), restart)
			m.emitLocked(control.Event{Kind: control.EventUnresponsive, Slot: p.slot.index, PID: p.pid})
			back = append(back, p.unqueue()...)
			m.gateLocked()
			m.notifyLocked()
		case late && m.o.UnresponsiveRestart > 0 && now.Sub(p.hungSince) >= m.o.UnresponsiveRestart && !p.killed.Load():
			m.log.printf("worker %d (pid %d) unresponsive for %v: killing it; it is restarted as after a crash, and what it never took goes to the others",
				p.slot.index, p.pid, now.Sub(p.hungSince).Round(time.Millisecond))
			p.killed.Store(true)
			p.os.Kill()
		case !late && p.hung.Load():
			p.hung.Store(false)
			m.log.printf("worker %d (pid %d) answers again, after %v unresponsive", p.slot.index, p.pid, now.Sub(p.hungSince).Round(time.Millisecond))
			if !gone {
				m.emitLocked(control.Event{Kind: control.EventResponsive, Slot: p.slot.index, PID: p.pid})
			}
			back = append(back, m.unparkLocked()...)
			m.gateLocked()
			m.notifyLocked()
		}
	}
	m.mu.Unlock()
	for _, h := range back {
		m.dispatch(h, nil)
	}
}

// unqueue takes back the connections queued for p and not sent yet; the
// shutdown, if queued, stays.
func (p *proc) unqueue() []handoff {
	var hs, keep []handoff
	for {
		select {
		case h := <-p.queue:
			if h.fd >= 0 {
				hs = append(hs, h)
			} else {
				keep = append(keep, h)
			}
			continue
		default:
		}
		break
	}
	for _, h := range keep {
		p.queue <- h
	}
	return hs
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

// adoptLocked turns slot s's reuseport socket into an orphan the master
// relays.
func (m *Master) adoptLocked(s *slot) {
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

// reclaimLocked returns an orphan socket for a new slot to take over, or -1.
func (m *Master) reclaimLocked() int {
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
