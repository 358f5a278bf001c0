package scenario

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestInterrupted: a timeline scenario stopped during its load returns
// what was measured until then, marked interrupted after how long of how
// long, with an *InterruptedError that is a context.Canceled; the action
// done before is in it, and no server is left (run checks).
func TestInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := Crash{Load: Load{Workers: 2, Rate: 200, Duration: time.Minute}, At: 300 * time.Millisecond}
	r, _, err := runCtx(t, ctx, s, func(line string) {
		if strings.Contains(line, "SIGKILL worker") { // the worker is back: Ctrl-C
			cancel()
		}
	})
	var stopped *InterruptedError
	if !errors.As(err, &stopped) || !stopped.Kept || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want an *InterruptedError with what was measured kept", err)
	}
	if !strings.HasPrefix(err.Error(), "interrupted after ") || !strings.HasSuffix(err.Error(), " of 60 s") {
		t.Errorf("error %q, want after how long of 60 s", err)
	}
	if in := r.Interrupted; in == nil || *in != stopped.At || in.OfS != 60 || len(r.Actions) != 1 || in.AfterS < r.Actions[0].Done || in.AfterS >= 60 {
		t.Errorf("interrupted %+v, actions %+v; want marked, after the kill and before the end", in, r.Actions)
	}
	if r.Sent == 0 || r.Load == nil {
		t.Errorf("sent %d, load %v: what was measured is not kept", r.Sent, r.Load)
	}
}

// TestInterruptedBeforeAnything: stopped before its server is up, a
// scenario returns no result and says it was interrupted with nothing
// kept.
func TestInterruptedBeforeAnything(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range []Scenario{Crash{}, State{}} {
		r, _, err := runCtx(t, ctx, s, nil)
		var stopped *InterruptedError
		if r != nil || !errors.As(err, &stopped) || stopped.Kept || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: result %v, error %v; want none, interrupted, nothing kept", s.Name(), r, err)
		}
	}
}
