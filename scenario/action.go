package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models/prefork"
	"github.com/corebench/corebench/results"
)

// startTimeout bounds a server's start.
const startTimeout = 30 * time.Second

// grace bounds a server's drain when the scenario stops it.
const grace = 15 * time.Second

// limits is how the scenarios start and stop servers.
var limits = child.Options{Ready: startTimeout, Grace: grace}

// runAction runs crash, reload or scale: a steady open-loop load, the
// action at o.At (scale acts again at 2·o.At), the timeline.
func runAction(ctx context.Context, o Options) (*results.Scenario, error) {
	isPrefork := o.Model.Prefork()
	var extra []string
	ctl := ""
	if isPrefork {
		ctl = filepath.Join(o.Dir, "master.sock")
		extra = append(extra, "--control", ctl)
	}
	if o.Name == "crash" {
		extra = append(extra, "--chaos")
	}
	if o.NoHandover {
		extra = append(extra, "--no-handover")
	}
	extra = append(extra, o.policyArgs()...)
	srv, err := o.start(ctx, o.Model, "127.0.0.1:0", extra...)
	if err != nil {
		return nil, err
	}
	servers := []*child.Server{srv}
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	var victim externalWorker
	if o.Name == "crash" && o.Model.External() {
		// Before any load: a server that cannot name its workers is
		// refused with nothing measured.
		if victim, err = pickWorker(ctx, srv); err != nil {
			return nil, fmt.Errorf("crash: %w", err)
		}
	}
	u, _ := url.Parse(srv.URL)
	r := &results.Scenario{Scenario: o.Name, Model: o.Model.Name, Workers: o.Model.Workers(o.Workers), Rate: o.Rate, Path: o.Path, KeepAlive: !o.NoKeepAlive, NoHandover: o.NoHandover}
	if o.Closed {
		r.Rate, r.Connections = 0, o.Connections
	}

	// The load's fairness is over the workers the server started with, or
	// over more when more answered (scale).
	workers, _ := loadgen.DiscoverWorkers(ctx, loadgen.Options{URL: srv.URL})
	if o.Share > 0 {
		capacity, err := o.Generate(ctx, loadgen.Load{URL: srv.URL + o.Path, Connections: capacityConns, Duration: capacityProbe, Workers: workers})
		if err != nil {
			return nil, fmt.Errorf("measuring capacity: %w", err)
		}
		if capacity == nil || capacity.RPS <= 0 {
			return nil, errors.New("measuring capacity: no request was answered")
		}
		r.Capacity, r.Share = capacity.RPS, o.Share
		o.Rate = o.Share * capacity.RPS
		r.Rate = o.Rate
		o.Log(fmt.Sprintf("capacity on %s: %.0f req/s (closed loop of %d for %v); the load is %.0f%% of it: %.0f req/s", o.Path, capacity.RPS, capacityConns, capacityProbe, 100*o.Share, o.Rate))
	}
	var loop *prefork.Watcher
	if o.Name == "crashloop" {
		if loop, err = (prefork.Client{Path: ctl}).Watch(ctx); err != nil {
			return nil, err
		}
		defer loop.Close()
	}

	type loadResult struct {
		sum *results.Summary
		err error
	}
	loaded := make(chan loadResult, 1)
	began := time.Now()
	go func() {
		// ProbeIdle: a client that notices a closed idle connection, as
		// browsers and Go's http.Transport do, so the failures counted are
		// the requests the server had, not the generator's own sends on
		// connections it could have known were gone.
		l := loadgen.Load{URL: srv.URL + o.Path, Connections: o.Connections, Rate: o.Rate, Duration: o.Duration, NoKeepAlive: o.NoKeepAlive, ProbeIdle: true, Workers: workers}
		if o.Closed {
			l.Rate = 0
		}
		sum, err := o.Generate(ctx, l)
		loaded <- loadResult{sum, err}
	}()
	at := func(d time.Duration) error {
		t := time.NewTimer(time.Until(began.Add(d)))
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	type stamped struct {
		label      string
		start, end time.Time
	}
	var acts []stamped
	act := func(label string, f func() error) error {
		a := stamped{label: label, start: time.Now()}
		err := f()
		a.end = time.Now()
		acts = append(acts, a)
		o.Log(fmt.Sprintf("%.1fs: %s", a.start.Sub(began).Seconds(), label))
		return err
	}
	client := prefork.Client{Path: ctl}

	var actErr error
	var events []prefork.Event
	if o.Name == "crashloop" {
		var cut error
		events, cut = collect(ctx, loop, began.Add(o.Duration))
		if cut != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the master's events stopped before the load ended (%v): the crash loop's counts are of what came before", cut))
		}
	} else if err := at(o.At); err == nil {
		switch o.Name {
		case "crash":
			if isPrefork {
				actErr = crashWorker(ctx, o, client, srv, r, act)
			} else if o.Model.External() {
				actErr = act(victim.label, func() error { return syscall.Kill(victim.pid, syscall.SIGKILL) })
			} else {
				var next *child.Server
				next, actErr = crashProcess(ctx, o, srv, u.Host, r, act)
				if next != nil {
					servers = append(servers, next)
				}
			}
		case "reload":
			actErr = act("rolling reload", func() error {
				return client.Reload(ctx, 1, func(s string) { o.Log("  " + s) })
			})
		case "stall":
			// SIGSTOP freezes every process of the server at once, as a
			// long GC pause, a swapped-out page or a noisy neighbour would.
			actErr = act(fmt.Sprintf("server stopped for %v", o.Stall), func() error {
				pids := srv.Pids()
				for _, p := range pids {
					syscall.Kill(p, syscall.SIGSTOP)
				}
				t := time.NewTimer(o.Stall)
				defer t.Stop()
				select {
				case <-t.C:
				case <-ctx.Done():
				}
				for _, p := range pids {
					syscall.Kill(p, syscall.SIGCONT)
				}
				return nil
			})
		case "scale":
			actErr = act(fmt.Sprintf("scale %d → 8", o.Workers), func() error {
				return client.Scale(ctx, 8, func(s string) { o.Log("  " + s) })
			})
			if actErr == nil && at(2*o.At) == nil {
				actErr = act(fmt.Sprintf("scale 8 → %d", o.Workers), func() error {
					return client.Scale(ctx, o.Workers, func(s string) { o.Log("  " + s) })
				})
			}
		}
	}
	res := <-loaded
	if res.sum == nil || res.sum.Requests == 0 {
		if res.err != nil {
			return nil, res.err
		}
		return nil, errNoLoad
	}
	r.Load = res.sum
	for _, a := range acts {
		r.Actions = append(r.Actions, results.Action{Label: a.label, At: a.start.Sub(res.sum.Start).Seconds(), Done: a.end.Sub(res.sum.Start).Seconds()})
	}
	for _, e := range events {
		r.Events = append(r.Events, results.SlotEvent{At: e.Time.Sub(res.sum.Start).Seconds(), Kind: string(e.Kind), Slot: e.Slot,
			UptimeMs: float64(e.Uptime) / 1e6, DelayMs: float64(e.Delay) / 1e6, Restarts: e.Restarts})
		if e.Kind == prefork.EventErrored {
			r.Actions = append(r.Actions, results.Action{Label: fmt.Sprintf("slot %d errored", e.Slot), At: e.Time.Sub(res.sum.Start).Seconds(), Done: e.Time.Sub(res.sum.Start).Seconds()})
		}
	}
	summarize(r)
	if actErr != nil {
		return r, fmt.Errorf("%s: %w", o.Name, actErr)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

// crashWorker kills one prefork worker (slot 1, or 0 alone) and waits
// until its slot is back online with a new process, as the master's
// events tell. The worker's requests in flight just before are recorded:
// they are the failures the model cannot avoid.
func crashWorker(ctx context.Context, o Options, client prefork.Client, srv *child.Server, r *results.Scenario, act func(string, func() error) error) error {
	// Watch the master first, to see the slot return; then take the
	// victim's counts as close to the kill as can be.
	events, err := client.Watch(ctx)
	if err != nil {
		return err
	}
	defer events.Close()
	st, err := client.Status(ctx)
	if err != nil {
		return err
	}
	victim := st.Workers[min(1, len(st.Workers)-1)]
	r.InFlight, r.Conns = victim.InFlight, victim.Conns
	label := fmt.Sprintf("SIGKILL worker %d", victim.Slot)
	if o.Crash == "request" {
		label = "/crash"
	}
	return act(label, func() error {
		killed := time.Now()
		if o.Crash == "request" {
			resp, err := http.Post(srv.URL+"/crash", "text/plain", nil)
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("/crash answered %d: is --chaos on?", resp.StatusCode)
			}
		} else if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
			return err
		}
		wait := 10*time.Second + o.Startup
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		slot, pid := victim.Slot, victim.PID
		if o.Crash == "request" {
			// Whichever worker took the request is the one that crashed.
			c, err := events.Next(wctx, func(e prefork.Event) bool { return e.Kind == prefork.EventCrashed })
			if err != nil {
				return timedOut(ctx, err, "no worker crashed within 10s")
			}
			slot, pid = c.Slot, c.PID
		}
		on, err := events.Next(wctx, func(e prefork.Event) bool {
			return e.Kind == prefork.EventOnline && e.Slot == slot && e.PID != pid
		})
		if err == nil {
			r.RestartMs = float64(on.Time.Sub(killed)) / 1e6
		}
		return timedOut(ctx, err, fmt.Sprintf("worker %d not back online within %v", slot, wait))
	})
}

// timedOut returns err, or what timed out when it is the deadline of a
// wait within ctx.
func timedOut(ctx context.Context, err error, what string) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return errors.New(what)
	}
	return err
}

// externalWorker is the worker of an external server the crash scenario
// kills (SIGKILL); the restart is the server's business, and the timeline
// shows what it did.
type externalWorker struct {
	pid   int
	label string
}

// pickWorker asks an external server for a worker: the process the
// X-Worker-Pid of its answer names, if that is one of the server's.
func pickWorker(ctx context.Context, srv *child.Server) (externalWorker, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		return externalWorker{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return externalWorker{}, fmt.Errorf("asking for a worker's pid: %v", err)
	}
	resp.Body.Close()
	h := resp.Header.Get("X-Worker-Pid")
	pid, err := strconv.Atoi(h)
	switch {
	case h == "":
		return externalWorker{}, errors.New("the server sends no X-Worker-Pid header: the crash scenario needs it to pick a worker to kill")
	case err != nil || !slices.Contains(srv.Pids(), pid):
		return externalWorker{}, fmt.Errorf("X-Worker-Pid %q is no process of the server's (%v)", h, srv.Pids())
	}
	w := externalWorker{pid: pid, label: fmt.Sprintf("SIGKILL pid %d", pid)}
	if slot := resp.Header.Get("X-Worker"); slot != "" {
		w.label = fmt.Sprintf("SIGKILL worker %s (pid %d)", slot, pid)
	}
	return w, nil
}

// crashProcess crashes a one-process server and, playing the supervisor,
// starts it again on the same address after o.Restart.
func crashProcess(ctx context.Context, o Options, srv *child.Server, addr string, r *results.Scenario, act func(string, func() error) error) (*child.Server, error) {
	killed := time.Now()
	label := "SIGKILL the server"
	if o.Crash == "request" {
		label = "/crash"
	}
	err := act(label, func() error {
		if o.Crash == "request" {
			if resp, err := http.Post(srv.URL+"/crash", "text/plain", nil); err == nil {
				resp.Body.Close()
				return fmt.Errorf("/crash answered %d", resp.StatusCode)
			}
		} else {
			syscall.Kill(srv.PID(), syscall.SIGKILL)
		}
		<-srv.Exited()
		return nil
	})
	if err != nil || o.Restart < 0 {
		return nil, err
	}
	t := time.NewTimer(o.Restart)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var next *child.Server
	err = act(fmt.Sprintf("restarted after %v", o.Restart), func() error {
		var err error
		next, err = o.start(ctx, o.Model, addr, append([]string{"--chaos"}, o.policyArgs()...)...)
		return err
	})
	if err == nil {
		r.RestartMs = float64(time.Since(killed)) / 1e6
	}
	return next, err
}

// How the crash scenario measures capacity for Options.Share: a closed
// loop with plenty of requests in flight, long enough to settle.
const (
	capacityConns = 64
	capacityProbe = time.Second
)

// policyArgs are the `bench serve` flags for o's startup time and, for a
// crash loop, the crashing and the restart policy.
func (o Options) policyArgs() []string {
	var args []string
	if o.Startup > 0 {
		args = append(args, "--startup", o.Startup.String())
	}
	if o.Name != "crashloop" {
		return args
	}
	args = append(args, "--exit-after", o.ExitAfter.String())
	if o.MinUptime > 0 {
		args = append(args, "--min-uptime", o.MinUptime.String())
	}
	if o.MaxRestarts > 0 {
		args = append(args, "--max-restarts", strconv.Itoa(o.MaxRestarts))
	}
	return args
}

// collect gathers a crash loop's events until the load ends; the error
// says why the events stopped before that (the watcher fell behind, or
// the master went away), so that short counts are not read as the loop's.
func collect(ctx context.Context, w *prefork.Watcher, until time.Time) ([]prefork.Event, error) {
	var out []prefork.Event
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for {
		select {
		case e, ok := <-w.Events():
			if !ok {
				return out, cmp.Or(w.Err(), errors.New("the watch ended"))
			}
			switch e.Kind {
			case prefork.EventCrashed, prefork.EventRestarting, prefork.EventOnline, prefork.EventErrored:
				out = append(out, e)
			}
		case <-t.C:
			return out, nil
		case <-ctx.Done():
			return out, nil
		}
	}
}
