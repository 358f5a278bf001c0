package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/results"
)

// Crash kills a worker of a server under load at At, or a one-process
// server, which the scenario then starts again after Restart as a
// supervisor would, and measures what it cost: the requests that failed,
// how long the restart took, the throughput lost meanwhile. An external
// server's worker is the process its X-Worker-Pid names; its restart is
// the server's business.
type Crash struct {
	Load
	At time.Duration // default a third of the load's Duration
	// Share, when set, sizes the open loop as this share of the server's
	// capacity, measured first with a closed-loop burst: near capacity,
	// losing a worker shows as lost throughput.
	Share float64
	// How is how the worker (or one-process server) dies: CrashKill
	// (SIGKILL, the default) or CrashRequest (/crash, which the scenario
	// enables with bench serve --chaos).
	How string
	// Restart is how long whatever supervises a one-process server takes
	// to start it again after a crash (systemd's RestartSec, say); default
	// DefaultRestart; negative: nothing restarts it. A prefork master
	// restarts its workers itself.
	Restart time.Duration
	// Startup is how long the server's processes take to load before
	// they listen (bench serve --startup): what a restart costs.
	Startup    time.Duration
	NoHandover bool // as Reload's
}

// How a crash is done (Crash.How), and how long a one-process server's
// supervisor takes to restart it unless told.
const (
	CrashKill      = "kill"
	CrashRequest   = "request"
	DefaultRestart = time.Second
)

func (Crash) Name() string         { return "crash" }
func (Crash) OwnServersOnly() bool { return false }

func (c Crash) withDefaults() Crash {
	c.Load = c.Load.WithDefaults()
	c.At = orDefault(c.At, c.Duration/3)
	c.How = cmp.Or(c.How, CrashKill)
	if c.Restart == 0 {
		c.Restart = DefaultRestart
	}
	return c
}

func (c Crash) Check() error {
	c = c.withDefaults()
	if c.Model.External() && c.How == CrashRequest {
		return fmt.Errorf("--crash request needs bench serve's /crash; an external server (%s) is crashed with kill", c.Model)
	}
	if err := checkShare(c.Share); err != nil {
		return err
	}
	if c.How != CrashKill && c.How != CrashRequest {
		return fmt.Errorf("unknown crash %q: want kill or request", c.How)
	}
	return checkAt(c.At, c.Duration)
}

// Run starts the server, drives the load, crashes it at c.At and, for a
// one-process server, restarts it after c.Restart.
func (c Crash) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	p := plan{name: c.Name(), load: c.Load, share: c.Share, noHandover: c.NoHandover, serve: append([]string{"--chaos"}, replacing(c.Startup, c.NoHandover)...)}
	var victim externalWorker
	if c.Model.External() {
		p.before = func(ctx context.Context, t *timeline) error {
			// Before any load: a server that cannot name its workers is
			// refused with nothing measured.
			var err error
			if victim, err = pickWorker(ctx, t.srv); err != nil {
				return fmt.Errorf("crash: %w", err)
			}
			return nil
		}
	}
	p.during = func(ctx context.Context, t *timeline) error {
		if t.wait(ctx, c.At) != nil {
			return nil
		}
		switch {
		case c.Model.Prefork():
			return c.crashWorker(ctx, t)
		case c.Model.External():
			return t.act(victim.label, func() error { return syscall.Kill(victim.pid, syscall.SIGKILL) })
		}
		return c.crashProcess(ctx, t)
	}
	return p.run(ctx, env)
}

// crashWorker kills one prefork worker (slot 1, or 0 alone) and waits
// until its slot is back online with a new process, as the master's
// events tell. The worker's requests in flight just before are recorded:
// they are the failures the model cannot avoid.
func (c Crash) crashWorker(ctx context.Context, t *timeline) error {
	// Watch the master first, to see the slot return; then take the
	// victim's counts as close to the kill as can be.
	events, err := t.ctl.Watch(ctx)
	if err != nil {
		return err
	}
	defer events.Close()
	st, err := t.ctl.Status(ctx)
	if err != nil {
		return err
	}
	victim := st.Workers[min(1, len(st.Workers)-1)]
	t.r.InFlight, t.r.Conns = victim.InFlight, victim.Conns
	label := fmt.Sprintf("SIGKILL worker %d", victim.Slot)
	if c.How == CrashRequest {
		label = "/crash"
	}
	return t.act(label, func() error {
		killed := time.Now()
		if c.How == CrashRequest {
			resp, err := http.Post(t.srv.URL+"/crash", "text/plain", nil)
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("/crash answered %d: is --chaos on?", resp.StatusCode)
			}
		} else if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
			return err
		}
		wait := 10*time.Second + c.Startup
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		slot, pid := victim.Slot, victim.PID
		if c.How == CrashRequest {
			// Whichever worker took the request is the one that crashed.
			e, err := events.Next(wctx, func(e control.Event) bool { return e.Kind == control.EventCrashed })
			if err != nil {
				return timedOut(ctx, err, "no worker crashed within 10s")
			}
			slot, pid = e.Slot, e.PID
		}
		on, err := events.Next(wctx, func(e control.Event) bool {
			return e.Kind == control.EventOnline && e.Slot == slot && e.PID != pid
		})
		if err == nil {
			t.r.RestartMs = float64(on.Time.Sub(killed)) / 1e6
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

// crashProcess crashes a one-process server and, playing the supervisor,
// starts it again on the same address after c.Restart.
func (c Crash) crashProcess(ctx context.Context, t *timeline) error {
	killed := time.Now()
	label := "SIGKILL the server"
	if c.How == CrashRequest {
		label = "/crash"
	}
	err := t.act(label, func() error {
		if c.How == CrashRequest {
			if resp, err := http.Post(t.srv.URL+"/crash", "text/plain", nil); err == nil {
				resp.Body.Close()
				return fmt.Errorf("/crash answered %d", resp.StatusCode)
			}
		} else {
			syscall.Kill(t.srv.PID(), syscall.SIGKILL)
		}
		<-t.srv.Exited()
		return nil
	})
	if err != nil || c.Restart < 0 {
		return err
	}
	timer := time.NewTimer(c.Restart)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	u, _ := url.Parse(t.srv.URL)
	var next *child.Server
	err = t.act(fmt.Sprintf("restarted after %v", c.Restart), func() error {
		var err error
		next, err = t.env.start(ctx, c.Model, c.Workers, u.Host, append([]string{"--chaos"}, replacing(c.Startup, false)...)...)
		return err
	})
	if next != nil {
		t.more = append(t.more, next)
	}
	if err == nil {
		t.r.RestartMs = float64(time.Since(killed)) / 1e6
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
