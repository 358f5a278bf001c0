package scenario

import (
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
	if err := at(o.At); err == nil {
		switch o.Name {
		case "crash":
			if isPrefork {
				actErr = crashWorker(ctx, o, client, srv, r, act)
			} else if o.Model.External() {
				actErr = act(victim.label, func() error { return syscall.Kill(victim.pid, syscall.SIGKILL) })
			} else {
				var next *child.Server
				next, actErr = crashProcess(ctx, o, srv, u.Host, act)
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
		if o.Crash == "request" {
			resp, err := http.Post(srv.URL+"/crash", "text/plain", nil)
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("/crash answered %d: is --chaos on?", resp.StatusCode)
			}
		} else if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
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
		_, err := events.Next(wctx, func(e prefork.Event) bool {
			return e.Kind == prefork.EventOnline && e.Slot == slot && e.PID != pid
		})
		return timedOut(ctx, err, fmt.Sprintf("worker %d not back online within 10s", slot))
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
func crashProcess(ctx context.Context, o Options, srv *child.Server, addr string, act func(string, func() error) error) (*child.Server, error) {
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
		next, err = o.start(ctx, o.Model, addr, "--chaos")
		return err
	})
	return next, err
}
