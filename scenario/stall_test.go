package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/variant"
)

// TestStall: a stopped server shows in an open loop's p99, and hides from
// a closed loop's, which sends nothing while it waits; both see it in
// their maximum. An external server's whole tree is stopped the same way.
func TestStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	const stallMs = 300
	l := light(Load{Model: variant.SingleCore})
	l.Duration = 1500 * time.Millisecond
	open, _ := mustRun(t, Stall{Load: l, For: stall})
	// 60 of 300 requests were due during the stall: the p99 waited for it.
	if l := open.Load.Latency; l.P99 < stallMs/2 || l.Max < stallMs*0.9 || open.Failed != 0 || open.Rate != 200 {
		t.Errorf("open loop: p99 %.1f ms, max %.1f ms, %d failed, rate %v", l.P99, l.Max, open.Failed, open.Rate)
	}
	if len(open.Actions) != 1 || open.Actions[0].Label != "server stopped for 300ms" {
		t.Errorf("actions %+v", open.Actions)
	}
	l.Closed, l.Connections = true, 4
	closed, _ := mustRun(t, Stall{Load: l, For: stall})
	if l := closed.Load.Latency; l.P99 > stallMs/2 || l.Max < stallMs*0.9 || closed.Failed != 0 {
		t.Errorf("closed loop of 4: p99 %.1f ms, max %.1f ms, %d failed; want the p99 to hide the stall", l.P99, l.Max, closed.Failed)
	}
	if closed.Rate != 0 || closed.Connections != 4 || closed.Load.Mode != "closed" {
		t.Errorf("closed loop: rate %v, connections %d, mode %s", closed.Rate, closed.Connections, closed.Load.Mode)
	}

	ext, _ := mustRun(t, Stall{Load: light(Load{Model: external(t, "external")}), For: stall})
	if len(ext.Actions) != 1 || !strings.HasPrefix(ext.Actions[0].Label, "server stopped for") || ext.Load.Latency.Max < stallMs*0.9 || ext.Failed != 0 {
		t.Errorf("external: actions %+v, max %.1f ms, %d failed", ext.Actions, ext.Load.Latency.Max, ext.Failed)
	}
}
