package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/redistest"
	"github.com/corebench/corebench/results"
)

// TestState: per-process counters share the count, the master's counts
// all; sessions in worker memory break under rr and hold under sticky
// and in a store (Redis), which is the production answer, noted when
// there is none.
func TestState(t *testing.T) {
	t.Parallel()
	s := State{Requests: 200, Users: 12, Duration: time.Second}
	check := func(t *testing.T, st *results.StateResult, want map[string]int) {
		t.Helper()
		var sum int64
		for _, w := range st.PerProcess {
			sum += w.Count
			if w.Count != 50 {
				t.Errorf("worker %d counted %d of 200 over 4 rr workers, want 50", w.Slot, w.Count)
			}
		}
		if len(st.PerProcess) != 4 || sum != 200 || st.Shared != 200 {
			t.Errorf("per-process counters %+v, shared %d", st.PerProcess, st.Shared)
		}
		for _, c := range st.Sessions {
			if c.Lookups != 48 || c.Found != want[c.Setup] {
				t.Errorf("%s: found %d of %d, want %d", c.Setup, c.Found, c.Lookups, want[c.Setup])
			}
		}
		if len(st.Sessions) != len(want) || len(st.Costs) != len(want) {
			t.Errorf("sessions %+v, costs %+v", st.Sessions, st.Costs)
		}
		for _, c := range st.Costs {
			if c.RPS <= 0 {
				t.Errorf("cost %+v", c)
			}
		}
	}
	t.Run("no store", func(t *testing.T) {
		r, _ := mustRun(t, s)
		check(t, r.State, map[string]int{"rr, sessions in worker memory": 12, "sticky, sessions in worker memory": 48})
		if r.State.Store != -1 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no --state store given") {
			t.Errorf("store %d, notes %q", r.State.Store, r.Notes)
		}
	})
	t.Run("store", func(t *testing.T) {
		s.Store = redistest.Start(t)
		r, _ := mustRun(t, s)
		check(t, r.State, map[string]int{"rr, sessions in worker memory": 12, "sticky, sessions in worker memory": 48, "rr, sessions in the store": 48})
		if r.State.Store != 200 || len(r.Notes) != 0 {
			t.Errorf("store %d, notes %q", r.State.Store, r.Notes)
		}
	})
}
