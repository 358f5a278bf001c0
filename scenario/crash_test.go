package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/variant"
)

// TestCrash: killing a prefork worker fails at most the requests on its
// connections, and the master's events time its slot's return; killing a
// one-process server fails everything until the scenario, playing its
// supervisor, starts it again on the same address.
func TestCrash(t *testing.T) {
	t.Parallel()
	t.Run("prefork", func(t *testing.T) {
		r, _ := mustRun(t, Crash{Load: light(Load{Workers: 2})})
		// At most one request per connection the killed worker held. (Its
		// in-flight count, read just before the kill, is not a bound on a
		// busy machine: requests keep arriving until the kill lands.)
		if r.Failed > r.Conns || r.Sent < 100 {
			t.Errorf("%d failed of %d; the killed worker had %d requests in flight on %d connections", r.Failed, r.Sent, r.InFlight, r.Conns)
		}
		if len(r.Actions) != 1 || r.Actions[0].Label != "SIGKILL worker 1" || r.RestartMs <= 0 || r.ServedBefore <= 0 {
			t.Errorf("actions %+v, restart %v ms, served %v req/s before", r.Actions, r.RestartMs, r.ServedBefore)
		}
	})
	t.Run("request", func(t *testing.T) {
		r, _ := mustRun(t, Crash{Load: light(Load{Workers: 2}), How: CrashRequest})
		if len(r.Actions) != 1 || r.Actions[0].Label != "/crash" || r.RestartMs <= 0 {
			t.Errorf("actions %+v, restart %v ms", r.Actions, r.RestartMs)
		}
	})
	t.Run("one process", func(t *testing.T) {
		r, _ := mustRun(t, Crash{Load: light(Load{Model: variant.SingleCore}), Restart: 200 * time.Millisecond})
		if r.ErrorKinds["refused"] == 0 {
			t.Errorf("%d failed %v, want the outage's requests refused", r.Failed, r.ErrorKinds)
		}
		if len(r.Actions) != 2 || r.Actions[0].Label != "SIGKILL the server" || r.Actions[1].Label != "restarted after 200ms" || r.RestartMs < 200 {
			t.Errorf("actions %+v, restart %v ms", r.Actions, r.RestartMs)
		}
	})
	t.Run("never restarted", func(t *testing.T) {
		r, _ := mustRun(t, Crash{Load: light(Load{Model: variant.Goroutines}), Restart: -1})
		if len(r.Actions) != 1 || r.RestartMs != 0 || r.Recovered != -1 {
			t.Errorf("actions %+v, restart %v ms, recovered %v", r.Actions, r.RestartMs, r.Recovered)
		}
	})
}

// TestCrashCost: a crash near capacity reports its restart time, which a
// worker that takes 300 ms to load cannot beat, and what it served
// meanwhile; the load was sized from the capacity it measured.
func TestCrashCost(t *testing.T) {
	t.Parallel()
	r, log := mustRun(t, Crash{Load: Load{Workers: 2, Path: "/cpu", Duration: 1500 * time.Millisecond}, Share: 0.5, Startup: 300 * time.Millisecond})
	if r.Capacity <= 0 || r.Share != 0.5 || r.Rate != r.Capacity/2 || !strings.Contains(log.String(), "the load is 50% of it") {
		t.Errorf("capacity %v, share %v, rate %v; log:\n%s", r.Capacity, r.Share, r.Rate, log)
	}
	if r.RestartMs < 300 || r.ServedBefore <= 0 || len(r.Actions) != 1 {
		t.Errorf("restart %v ms (the worker loads for 300 ms), served %v before and %v during, actions %+v", r.RestartMs, r.ServedBefore, r.ServedDuring, r.Actions)
	}
}

// TestCrashExternal: an external server's worker is the process its
// X-Worker-Pid names, and nothing restarts it; one that names none is
// refused before any load.
func TestCrashExternal(t *testing.T) {
	t.Parallel()
	r, _ := mustRun(t, Crash{Load: light(Load{Model: external(t, "external")})})
	if len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0].Label, "SIGKILL worker 0 (pid ") || r.Model != "external" || r.Failed == 0 {
		t.Errorf("model %s, actions %+v, %d failed", r.Model, r.Actions, r.Failed)
	}
	r, log, err := run(t, Crash{Load: light(Load{Model: external(t, "mute")})})
	if r != nil || err == nil || !strings.Contains(err.Error(), "sends no X-Worker-Pid header") || log.String() != "" {
		t.Errorf("a server without X-Worker-Pid: result %v, error %v, log %q", r, err, log)
	}
}

// TestCrashloop: workers that die soon after they start are restarted
// with a doubling delay, and given up on after MaxRestarts unstable
// restarts: every slot errored, by the master's events.
func TestCrashloop(t *testing.T) {
	t.Parallel()
	l := light(Load{Workers: 2})
	l.Duration = 2 * time.Second
	r, _ := mustRun(t, Crashloop{Load: l, MaxRestarts: 2, ExitAfter: 100 * time.Millisecond})
	crashed, errored := map[int]int{}, map[int]bool{}
	delays := map[int][]float64{}
	for _, e := range r.Events {
		switch e.Kind {
		case "crashed":
			crashed[e.Slot]++
		case "restarting":
			delays[e.Slot] = append(delays[e.Slot], e.DelayMs)
		case "errored":
			errored[e.Slot] = true
		}
	}
	for slot := range 2 {
		if crashed[slot] != 3 || !errored[slot] || len(delays[slot]) != 2 || delays[slot][1] != 2*delays[slot][0] {
			t.Errorf("slot %d: crashed %d times, delays %v, errored %v; want 3 crashes, 2 doubling delays, errored", slot, crashed[slot], delays[slot], errored[slot])
		}
	}
	if r.Failed == 0 || len(r.Actions) != 2 || !strings.HasSuffix(r.Actions[0].Label, " errored") {
		t.Errorf("%d failed with every slot errored; actions %+v", r.Failed, r.Actions)
	}
}
