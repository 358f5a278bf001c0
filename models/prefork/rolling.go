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
	m.opMu.Lock()
	defer m.opMu.Unlock()
	parallel = max(parallel, 1)
	m.mu.Lock()
	n := len(m.slots)
	m.mu.Unlock()
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
// drained and exited. A slot that is down gets a fresh worker.
func (m *Master) replace(ctx context.Context, idx []int, progress func(string)) error {
	type swap struct {
		s        *slot
		old, new *proc
	}
	var swaps []swap
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return errors.New("the server is shutting down")
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
				s.sock = m.reclaimLocked()
			}
		}
		if err := m.startLocked(s, swapping); err != nil {
			m.rebuildLocked() // it may have listened again for nothing
			m.mu.Unlock()
			return fmt.Errorf("worker %d: %w", s.index, err)
		}
		swaps = append(swaps, swap{s, old, s.cur})
	}
	m.mu.Unlock()

	settled := func(p *proc) bool {
		select {
		case <-p.exited:
			return true
		default:
			return p.ready
		}
	}
	werr := m.waitFor(ctx, startupLimit, func() bool {
		for _, w := range swaps {
			if !settled(w.new) {
				return false
			}
		}
		return true
	})
	var failed error
	var draining []*proc
	for _, w := range swaps {
		m.mu.Lock()
		ok := w.new.ready
		m.mu.Unlock()
		if !ok {
			if werr != nil {
				w.new.killed.Store(true)
				w.new.os.Kill() // its slot falls back to the old worker
			}
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
		m.mu.Lock()
		m.emitLocked(control.Event{Kind: control.EventReplaced, Slot: w.s.index, PID: w.new.pid, OldPID: w.old.pid})
		m.mu.Unlock()
		m.retire(w.old)
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
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return errors.New("the server is shutting down")
	}
	cur := len(m.slots)
	if from > 0 && from != cur {
		m.mu.Unlock()
		return fmt.Errorf("the server has %d workers now, not %d: scaled meanwhile; nothing changed, ask again", cur, from)
	}
	switch {
	case n == cur:
		m.mu.Unlock()
		progress(fmt.Sprintf("already %d workers", n))
		return nil
	case n > cur:
		progress(fmt.Sprintf("scaling up from %d to %d workers", cur, n))
		m.mu.Unlock()
		var added []*slot
		var failed error
		for i := cur; i < n && failed == nil; i++ {
			var s *slot
			if s, failed = m.addSlot(i); s != nil {
				added = append(added, s)
			}
		}
		m.mu.Lock()
		m.setWorkersLocked(len(m.slots))
		m.mu.Unlock()
		err := m.waitFor(ctx, startupLimit, func() bool {
			for _, s := range added {
				if s.state == control.StateStarting {
					return false
				}
			}
			return true
		})
		m.mu.Lock()
		var down []int
		for _, s := range added {
			if s.state == control.StateOnline {
				progress(fmt.Sprintf("worker %d: started pid %d", s.index, s.cur.pid))
			} else {
				down = append(down, s.index)
			}
		}
		m.mu.Unlock()
		switch {
		case failed != nil:
			return fmt.Errorf("%w; stopped at %d workers", failed, cur+len(added))
		case len(down) > 0:
			return fmt.Errorf("workers %v did not come online (see bench logs)", down)
		}
		return err
	}
	progress(fmt.Sprintf("scaling down from %d to %d workers", cur, n))
	removed := m.slots[n:]
	var procs []*proc
	for _, s := range removed {
		s.stopRestart()
		s.state = control.StateStopped // no restart may start now
		// Relay from now on: the draining worker stops accepting first.
		m.adoptLocked(s)
		for _, p := range []*proc{s.cur, s.prev} {
			if p != nil {
				procs = append(procs, p)
			}
		}
	}
	m.mu.Unlock()
	for _, p := range procs {
		m.retire(p)
		progress(fmt.Sprintf("worker %d: pid %d drains and exits", p.slot.index, p.pid))
	}
	killed := m.reap(procs, m.o.Grace+time.Second)
	m.mu.Lock()
	m.slots = m.slots[:n]
	m.setWorkersLocked(n)
	m.rebuildLocked()
	m.notifyLocked()
	m.mu.Unlock()
	if len(killed) > 0 {
		progress(fmt.Sprintf("killed %v: still busy after the %v grace period", killed, m.o.Grace))
	}
	return nil
}

// addSlot appends slot i and starts its worker. The spawn runs without
// m.mu, as it is the slow part of a large scale up (a fork and exec each:
// seconds for a thousand), so that Status and the data path go on
// meanwhile; only Scale adds or removes slots, under opMu.
func (m *Master) addSlot(i int) (*slot, error) {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return nil, errors.New("the server is shutting down")
	}
	s := &slot{index: i, sock: -1, state: control.StateStarting}
	if m.o.Sched == models.SchedReusePort {
		s.sock = m.reclaimLocked()
	}
	m.resumeLocked()
	spec := m.specLocked(s)
	m.slots = append(m.slots, s)
	m.mu.Unlock()

	op, ch, err := m.env.spawn(spec)

	m.mu.Lock()
	if err == nil && !m.stopping {
		m.attachLocked(s, op, ch, false)
		m.mu.Unlock()
		return s, nil
	}
	m.slots = m.slots[:len(m.slots)-1]
	if m.stopping && s.sock >= 0 {
		closeFD(s.sock)
	} else {
		m.adoptLocked(s) // a reclaimed socket goes back to the relay
	}
	m.rebuildLocked()
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start worker %d: %w", i, err)
	}
	// Shutdown began during the spawn, and does not know of this one.
	op.Kill()
	ch.Close()
	op.Wait()
	return nil, errors.New("the server is shutting down")
}

func (m *Master) setWorkersLocked(n int) {
	m.o.Workers = n
	m.info.Workers = n
	m.emitLocked(control.Event{Kind: control.EventScaled, Slot: -1, Workers: n})
}
