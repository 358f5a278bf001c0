package scenario

import (
	"regexp"
	"testing"
	"time"

	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
)

// TestReload: a rolling reload under load fails no request, under every
// scheduling policy; the master's steps are logged, and the load's
// fairness is over the workers the server runs.
func TestReload(t *testing.T) {
	t.Parallel()
	for _, v := range []variant.Variant{variant.PreforkRR, variant.PreforkOS, variant.PreforkReusePort} {
		t.Run(v.Name, func(t *testing.T) {
			r, log := mustRun(t, Reload{Load: light(Load{Model: v, Workers: 2})})
			if r.Failed != 0 || r.Sent == 0 || len(r.Actions) != 1 || r.Actions[0].Label != "rolling reload" {
				t.Errorf("sent %d, failed %d %v, actions %+v", r.Sent, r.Failed, r.ErrorKinds, r.Actions)
			}
			if r.Scenario != "reload" || r.Model != v.Name || r.Workers != 2 || r.Rate != 200 || r.Path != DefaultPath || !r.KeepAlive {
				t.Errorf("record %s of %s, %d workers, %v req/s on %s, keep-alive %v", r.Scenario, r.Model, r.Workers, r.Rate, r.Path, r.KeepAlive)
			}
			if r.Load.Workers != 2 || r.Load.Fairness != stats.Jain(r.Load.PerWorker, 2) {
				t.Errorf("load over workers %d, fairness %v of %v; want over the 2 the server runs", r.Load.Workers, r.Load.Fairness, r.Load.PerWorker)
			}
			if !regexp.MustCompile(`(?m)^  worker 1: pid \d+ replaced by \d+`).MatchString(log.String()) {
				t.Errorf("the master's steps are not in the log:\n%s", log)
			}
		})
	}
}

// TestScale: scaling 2 -> 8 -> 2 under load fails no request.
func TestScale(t *testing.T) {
	t.Parallel()
	for _, v := range []variant.Variant{variant.PreforkRR, variant.PreforkReusePort} {
		t.Run(v.Name, func(t *testing.T) {
			l := light(Load{Model: v})
			l.Duration = 1500 * time.Millisecond
			r, _ := mustRun(t, Scale{Load: l})
			if r.Failed != 0 || len(r.Actions) != 2 || r.Actions[0].Label != "scale 2 → 8" || r.Actions[1].Label != "scale 8 → 2" || r.Workers != 2 {
				t.Errorf("sent %d, failed %d %v, actions %+v, workers %d", r.Sent, r.Failed, r.ErrorKinds, r.Actions, r.Workers)
			}
		})
	}
}
