package prefork

import (
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	p := Policy{MinUptime: time.Second, MaxRestarts: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond}
	// A worker that ran long enough restarts at once and clears the count.
	if n, d, e := p.Next(5*time.Second, 2); n != 0 || d != 0 || e {
		t.Errorf("stable exit: %d %v %v", n, d, e)
	}
	// Unstable exits back off exponentially up to the cap, then error.
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	n := 0
	for i, w := range want {
		var d time.Duration
		var e bool
		n, d, e = p.Next(10*time.Millisecond, n)
		if n != i+1 || d != w || e {
			t.Fatalf("unstable exit %d: count %d delay %v errored %v; want %d %v false", i+1, n, d, e, i+1, w)
		}
	}
	if _, _, e := p.Next(10*time.Millisecond, n); !e {
		t.Error("slot not errored after MaxRestarts unstable restarts")
	}
	// Defaults are PM2's.
	if d := (Policy{}).withDefaults(); d.MaxRestarts != 16 || d.MinUptime != time.Second || d.BackoffMax != 15*time.Second {
		t.Errorf("defaults %+v", d)
	}
}
