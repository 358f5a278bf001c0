//go:build linux

package prefork

import (
	"context"
	"encoding/binary"
	"sort"
	"sync"
	"time"

	procfs "github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// Status asks every live worker for its request counts over IPC and
// returns one row per worker process, in slot order; a worker that does
// not answer shows its counts as -1. It fails only when ctx is done.
func (m *Master) Status(ctx context.Context) (control.Status, error) {
	var st control.Status
	var procs []*proc
	if !m.do(func() {
		st = control.Status{Info: m.info, Uptime: time.Since(m.started), Counter: m.counter.Load(), CPUs: m.cpus}
		for _, s := range m.slots {
			row := control.WorkerStatus{Slot: s.index, State: s.state, Restarts: s.restarts, Served: -1, InFlight: -1, Conns: -1}
			if p := s.cur; p != nil && s.state != control.StateErrored && s.state != control.StateStopped && s.state != control.StateWaiting {
				row.PID, row.Uptime, row.CPU = p.pid, time.Since(p.started), p.cpu
				switch {
				case !p.ready:
					row.State = control.StateStarting
				case p.hung:
					row.State = control.StateUnresponsive
				}
				procs = append(procs, p)
			} else {
				procs = append(procs, nil)
			}
			st.Workers = append(st.Workers, row)
			if p := s.prev; p != nil {
				state := control.StateOnline
				if p.retiring {
					state = control.StateDraining
				}
				st.Workers = append(st.Workers, control.WorkerStatus{Slot: s.index, PID: p.pid, State: state, Uptime: time.Since(p.started),
					Restarts: s.restarts, Served: -1, InFlight: -1, Conns: -1, CPU: p.cpu})
				procs = append(procs, p)
			}
		}
	}) {
		return st, errStopped
	}
	var wg sync.WaitGroup
	for i, p := range procs {
		if p == nil {
			continue
		}
		st.Workers[i].RSS = procfs.RSS(p.pid)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := p.stats(ctx); err == nil {
				st.Workers[i].Served, st.Workers[i].InFlight = r.Val, r.Aux
				if len(r.Data) == 8 {
					st.Workers[i].Conns = int64(binary.LittleEndian.Uint64(r.Data))
				}
			}
		}()
	}
	wg.Wait()
	return st, ctx.Err()
}

// stats asks p for its request counts.
func (p *proc) stats(ctx context.Context) (ipc.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return p.calls.Call(ctx, ipc.Msg{Kind: ipc.KindStatsRequest}, func(m ipc.Msg) error { return p.ch.Send(m, -1) })
}

// sampleEvery is how often the master reads each worker's CPU and memory.
const sampleEvery = time.Second

// sample reads every worker's CPU time and resident memory from /proc once
// a second, for Status, checks the workers' acknowledgements (checkAcks),
// and replaces a worker over Options.MaxMemory gracefully, like PM2's
// max_memory_restart, unless a reload or scale is under way. It reads
// /proc outside the owner.
func (m *Master) sample(ctx context.Context) {
	type reading struct {
		ticks float64 // CPU seconds
		at    time.Time
	}
	last := map[*proc]reading{}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ps []*proc
		m.do(func() {
			for p := range m.procs {
				ps = append(ps, p)
			}
		})
		sort.Slice(ps, func(i, j int) bool { return ps[i].slot.index < ps[j].slot.index })
		now := time.Now()
		cpu, rss := make([]float64, len(ps)), make([]int64, len(ps))
		seen := map[*proc]reading{}
		for i, p := range ps {
			r := reading{procfs.CPUSeconds([]int{p.pid}), now}
			if l, ok := last[p]; ok {
				cpu[i] = 100 * (r.ticks - l.ticks) / now.Sub(l.at).Seconds()
			}
			seen[p], rss[i] = r, procfs.RSS(p.pid)
		}
		last = seen
		var over []int
		m.do(func() {
			for i, p := range ps {
				p.cpu, p.rss = cpu[i], rss[i]
				if m.o.MaxMemory > 0 && p.rss > m.o.MaxMemory && p == p.slot.cur && p.ready && p.slot.prev == nil && !p.retiring {
					over = append(over, p.slot.index)
					m.log.printf("worker %d (pid %d) uses %d MB, over --max-memory %d MB: replacing it gracefully",
						p.slot.index, p.pid, p.rss>>20, m.o.MaxMemory>>20)
				}
			}
			m.checkAcks(m.env.now())
		})
		if len(over) > 0 && m.tryClaim("memory") {
			go func() {
				defer m.release()
				if err := m.replace(ctx, over, func(s string) { m.log.printf("%s", s) }); err != nil {
					m.log.printf("ERROR: replacing workers over --max-memory: %v", err)
				}
			}()
		}
	}
}
