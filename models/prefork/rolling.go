//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
)

// startupLimit bounds how long a new worker may take to report ready.
const startupLimit = time.Minute

// Reload replaces every worker with a fresh process of the binary,
// parallel slots at a time, without dropping a connection: each
// replacement starts and reports ready while the old worker still serves;
// only then does the old one leave the rotation (rr, sticky), stop
// accepting on the shared socket (os) or hand the slot's socket, accept
// queue and all, to its replacement (reuseport); it then finishes its
// requests, answers "Connection: close" on keep-alive connections and
// exits. A replacement that fails to start leaves the old worker in place
// and stops the reload with its error. progress receives a line per step.
func (m *Master) Reload(ctx context.Context, parallel int, progress func(string)) error {
	if err := m.claim(ctx, "reload"); err != nil {
		return err
	}
	defer m.release()
	parallel = max(parallel, 1)
	var n int
	m.do(func() { n = len(m.slots) })
	progress(fmt.Sprintf("rolling reload of %d workers, %d at a time", n, parallel))
	start := time.Now()
	for i := 0; i < n; i += parallel {
		var batch []int
		for j := i; j < min(i+parallel, n); j++ {
			batch = append(batch, j)
		}
		if err := m.replace(ctx, batch, progress); err != nil {
			return err
		}
	}
	progress(fmt.Sprintf("reload done in %v", time.Since(start).Round(time.Millisecond)))
	return nil
}

// replace starts a replacement for each slot in idx, waits until each is
// ready, then retires the workers they replace and waits until those have
// drained and exited. A slot that is down gets a fresh worker. The caller
// has claimed the turn (claim).
func (m *Master) replace(ctx context.Context, idx []int, progress func(string)) error {
	type swap struct {
		s        *slot
		old, new *proc
	}
	var swaps []swap
	var err error
	m.do(func() {
		if m.stopping {
			err = errors.New("the server is shutting down")
			return
		}
		for _, i := range idx {
			if i >= len(m.slots) {
				continue // removed by a scale meanwhile
			}
			s := m.slots[i]
			s.stopRestart()
			old := s.serving()
			swapping := old != nil && s.cur == old && s.prev == nil
			if !swapping {
				old = nil
				s.unstable = 0
				if s.prev != nil {
					continue // a replacement is already under way
				}
				if m.o.Sched == models.SchedReusePort && s.sock < 0 {
					s.sock = m.reclaim()
				}
			}
			if err = m.startWorker(s, swapping); err != nil {
				m.rebuild() // it may have listened again for nothing
				err = fmt.Errorf("worker %d: %w", s.index, err)
				return
			}
			swaps = append(swaps, swap{s, old, s.cur})
		}
	})
	if err != nil {
		return err
	}

	werr := m.waitFor(ctx, startupLimit, func() bool {
		for _, w := range swaps {
			select {
			case <-w.new.exited:
			default:
				if !w.new.ready {
					return false
				}
			}
		}
		return true
	})
	var failed error
	var draining []*proc
	for _, w := range swaps {
		var ok bool
		m.do(func() {
			if ok = w.new.ready; !ok {
				if werr != nil {
					w.new.killed = true
					w.new.os.Kill() // its slot falls back to the old worker
				}
				return
			}
			if w.old != nil {
				m.emit(control.Event{Kind: control.EventReplaced, Slot: w.s.index, PID: w.new.pid, OldPID: w.old.pid})
				m.retire(w.old)
			}
		})
		if !ok {
			<-w.new.exited
			if failed == nil {
				failed = fmt.Errorf("worker %d: the new worker (pid %d) did not start: %v", w.s.index, w.new.pid, w.new.exitErr)
				if l := w.new.os.LastLine(); l != "" {
					failed = fmt.Errorf("%w (it said: %s)", failed, l)
				}
			}
			continue
		}
		if w.old == nil {
			progress(fmt.Sprintf("worker %d: started pid %d", w.s.index, w.new.pid))
			continue
		}
		draining = append(draining, w.old)
		progress(fmt.Sprintf("worker %d: pid %d replaced by %d; the old one drains", w.s.index, w.old.pid, w.new.pid))
	}
	if killed := m.reap(draining, m.o.Grace+time.Second); len(killed) > 0 {
		progress(fmt.Sprintf("killed %v: still busy after the %v grace period", killed, m.o.Grace))
	}
	if failed != nil {
		return fmt.Errorf("%w; stopped there, the old workers keep serving", failed)
	}
	return werr
}

// Scale grows or shrinks the server to n workers while it serves. New
// slots start and report ready; removed ones (the highest) leave the
// rotation, drain and exit. Under reuseport a removed slot's socket cannot
// leave the port's group without resetting its queue, so the master keeps
// it and relays its connections (see orphan).
func (m *Master) Scale(ctx context.Context, n int, progress func(string)) error {
	return m.scale(ctx, n, 0, progress)
}

// scale is Scale, refused when from is not 0 and the server does not have
// from workers: a relative count was worked out from a number that
// another scale has changed since.
func (m *Master) scale(ctx context.Context, n, from int, progress func(string)) error {
	if n < 1 || n > models.MaxWorkers {
		return fmt.Errorf("cannot scale to %d workers: want 1 to %d", n, models.MaxWorkers)
	}
	if err := m.claim(ctx, "scale"); err != nil {
		return err
	}
	defer m.release()
	var cur int
	var err error
	m.do(func() {
		cur = len(m.slots)
		switch {
		case m.stopping:
			err = errors.New("the server is shutting down")
		case from > 0 && from != cur:
			err = fmt.Errorf("the server has %d workers now, not %d: scaled meanwhile; nothing changed, ask again", cur, from)
		}
	})
	switch {
	case err != nil:
		return err
	case n == cur:
		progress(fmt.Sprintf("already %d workers", n))
		return nil
	case n > cur:
		return m.scaleUp(ctx, cur, n, progress)
	}
	progress(fmt.Sprintf("scaling down from %d to %d workers", cur, n))
	var procs []*proc
	m.do(func() {
		for _, s := range m.slots[n:] {
			s.stopRestart()
			s.state = control.StateStopped // no restart may start now
			// Relay from now on: the draining worker stops accepting first.
			m.adopt(s)
			for _, p := range []*proc{s.cur, s.prev} {
				if p != nil {
					procs = append(procs, p)
					m.retire(p)
				}
			}
		}
	})
	for _, p := range procs {
		progress(fmt.Sprintf("worker %d: pid %d drains and exits", p.slot.index, p.pid))
	}
	killed := m.reap(procs, m.o.Grace+time.Second)
	m.do(func() {
		m.slots = m.slots[:n]
		m.setWorkers(n)
		m.rebuild()
	})
	if len(killed) > 0 {
		progress(fmt.Sprintf("killed %v: still busy after the %v grace period", killed, m.o.Grace))
	}
	return nil
}

// scaleUp adds slots cur to n-1 and waits until their workers are online.
func (m *Master) scaleUp(ctx context.Context, cur, n int, progress func(string)) error {
	progress(fmt.Sprintf("scaling up from %d to %d workers", cur, n))
	var added []*slot
	var failed error
	for i := cur; i < n && failed == nil; i++ {
		var s *slot
		if s, failed = m.addSlot(i); s != nil {
			added = append(added, s)
		}
	}
	m.do(func() { m.setWorkers(len(m.slots)) })
	err := m.waitFor(ctx, startupLimit, func() bool {
		for _, s := range added {
			if s.state == control.StateStarting {
				return false
			}
		}
		return true
	})
	var started []string
	var down []int
	m.do(func() {
		for _, s := range added {
			if s.state == control.StateOnline {
				started = append(started, fmt.Sprintf("worker %d: started pid %d", s.index, s.cur.pid))
			} else {
				down = append(down, s.index)
			}
		}
	})
	for _, line := range started {
		progress(line)
	}
	switch {
	case failed != nil:
		return fmt.Errorf("%w; stopped at %d workers", failed, cur+len(added))
	case len(down) > 0:
		return fmt.Errorf("workers %v did not come online (see bench logs)", down)
	}
	return err
}

// addSlot appends slot i and starts its worker. The spawn runs outside
// the owner, as it is the slow part of a large scale up (a fork and exec
// each: seconds for a thousand), so that Status, restarts and the data
// path go on meanwhile; only a scale, which has claimed the turn, adds or
// removes slots.
func (m *Master) addSlot(i int) (*slot, error) {
	var s *slot
	var spec workerSpec
	if !m.do(func() {
		if m.stopping {
			return
		}
		s = &slot{index: i, sock: -1, state: control.StateStarting}
		if m.o.Sched == models.SchedReusePort {
			s.sock = m.reclaim()
		}
		m.resume()
		spec = m.spec(s)
		m.slots = append(m.slots, s)
	}) || s == nil {
		return nil, errors.New("the server is shutting down")
	}

	op, ch, err := m.env.spawn(spec)

	attached := false
	m.do(func() {
		if err == nil && !m.stopping {
			m.attach(s, op, ch, false)
			attached = true
			return
		}
		m.slots = m.slots[:len(m.slots)-1]
		if m.stopping && s.sock >= 0 {
			closeFD(s.sock)
		} else {
			m.adopt(s) // a reclaimed socket goes back to the relay
		}
		m.rebuild()
	})
	switch {
	case attached:
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("start worker %d: %w", i, err)
	}
	// Shutdown began during the spawn, and does not know of this one.
	op.Kill()
	ch.Close()
	op.Wait()
	return nil, errors.New("the server is shutting down")
}

// setWorkers, on the owner, records that the server has n slots.
func (m *Master) setWorkers(n int) {
	m.o.Workers = n
	m.info.Workers = n
	m.emit(control.Event{Kind: control.EventScaled, Slot: -1, Workers: n})
}
