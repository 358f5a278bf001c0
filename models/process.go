package models

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models/state"
	"github.com/corebench/corebench/workload"
)

// RunProcess runs the workload in this one process with GOMAXPROCS procs,
// pinned to o.CPUs: the body of both single-process models, which differ
// only in procs.
func RunProcess(ctx context.Context, o Options, model, sched string, procs int) error {
	o = o.WithDefaults()
	runtime.GOMAXPROCS(procs)
	if err := affinity.PinProcess(o.CPUs); err != nil {
		return err
	}
	// One process is one worker whatever its GOMAXPROCS: it has one
	// X-Worker slot, and fairness is over slots.
	about := workload.About{Model: model, Sched: sched, Workers: 1}
	cfg := workload.Config{Chaos: o.Chaos, CPUIters: o.CPUIters, Log: o.Log,
		About: func(context.Context) (workload.About, error) { return about, nil }}
	if o.EventLoop {
		cfg.Loop = &workload.EventLoop{}
	}
	if o.State != "" {
		st, err := state.Open(ctx, o.State, fmt.Sprintf("corebench:%d:", os.Getpid()))
		if err != nil {
			return err
		}
		defer st.Close()
		cfg.Shared, cfg.Sessions = st, st
	}
	if err := Startup(ctx, o.Startup); err != nil {
		return err
	}
	ln, err := Listen(o.Addr)
	if err != nil {
		return err
	}
	h := workload.New(cfg)
	info := Info{Addr: ln.Addr().String(), Model: model, Sched: sched, Workers: procs, PID: os.Getpid()}
	err = Serve(ctx, ln, h.Serving(), ServeOptions{
		Grace:    o.Grace,
		Log:      o.Log,
		Timeouts: o.Timeouts,
		Serving:  func() { o.Ready(info) },
		Draining: func() {
			fmt.Fprintf(o.Log, "%s: draining (grace %v)\n", model, o.Grace)
		},
	})
	return err
}

// Startup waits d, an app's simulated loading (Options.Startup), or until
// ctx is done; prefork workers call it too.
func Startup(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
