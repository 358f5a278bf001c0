package workload

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func do(t *testing.T, h http.Handler, target string, cookie string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHeadersAndStats(t *testing.T) {
	h := New(Config{Slot: 3, PID: 4242})
	for _, path := range []string{"/", "/json", "/cpu?n=1", "/io?ms=0", "/counter", "/nope"} {
		w := do(t, h, path, "")
		if w.Header().Get("X-Worker") != "3" || w.Header().Get("X-Worker-Pid") != "4242" || w.Header().Get("Server") == "" {
			t.Errorf("%s: headers %v", path, w.Header())
		}
	}
	if served, inFlight := h.Stats(); served != 6 || inFlight != 0 {
		t.Errorf("Stats() = %d served, %d in flight; want 6, 0", served, inFlight)
	}
}

func TestCrashNeedsChaos(t *testing.T) {
	code := -1
	exit := func(c int) { code = c }
	if w := do(t, New(Config{Exit: exit, Log: io.Discard}), "/crash", ""); w.Code != 404 || code != -1 {
		t.Errorf("/crash without chaos: status %d, exit %d", w.Code, code)
	}
	do(t, New(Config{Chaos: true, Exit: exit, Log: io.Discard}), "/crash", "")
	if code != 1 {
		t.Errorf("/crash with chaos: exit code %d, want 1", code)
	}
}

func TestIOStopsWhenClientLeaves(t *testing.T) {
	h := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/io?ms=30000", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // returns at once: the request's context is done
	if w.Body.Len() != 0 {
		t.Errorf("answered a client that left: %q", w.Body.String())
	}
}

type failing struct{}

func (failing) Add(context.Context, int64) (int64, error) { return 0, errors.New("master unreachable") }

func TestSharedCounter(t *testing.T) {
	shared := &LocalCounter{}
	a, b := New(Config{Slot: 0, Shared: shared}), New(Config{Slot: 1, Shared: shared})
	do(t, a, "/counter/shared", "")
	if w := do(t, b, "/counter/shared", ""); !strings.Contains(w.Body.String(), `"value":2`) {
		t.Errorf("second increment through another handler: %s", w.Body.String())
	}
	if w := do(t, b, "/counter", ""); !strings.Contains(w.Body.String(), `"value":1`) {
		t.Errorf("per-process counter: %s", w.Body.String())
	}
	if w := do(t, New(Config{Shared: failing{}}), "/counter/shared", ""); w.Code != 503 || !strings.Contains(w.Body.String(), "master unreachable") {
		t.Errorf("unreachable shared counter: %d %q", w.Code, w.Body.String())
	}
}

func TestSessionsArePerProcess(t *testing.T) {
	a, b := New(Config{Slot: 0}), New(Config{Slot: 1})
	w := do(t, a, "/session?user=grace", "")
	cookie := strings.Split(w.Header().Get("Set-Cookie"), ";")[0]
	if w.Code != 200 || cookie == "" {
		t.Fatalf("login: %d, cookie %q", w.Code, cookie)
	}
	if w := do(t, a, "/session/me", cookie); w.Code != 200 || !strings.Contains(w.Body.String(), `"user":"grace"`) {
		t.Errorf("same process: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, b, "/session/me", cookie); w.Code != 401 {
		t.Errorf("another process knew the session: %d %s", w.Code, w.Body.String())
	}
}

func TestCPUDigestChains(t *testing.T) {
	if CPUDigest(0) == CPUDigest(1) || CPUDigest(2) != CPUDigest(2) || len(CPUDigest(5)) != 64 {
		t.Error("CPUDigest is not a deterministic chain")
	}
}

func BenchmarkHello(b *testing.B) {
	h := New(Config{})
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		h.ServeHTTP(w, r)
	}
}

// TestAbout: AboutPath reports the worker count the model gives, the
// answering worker, and 503 when the count cannot be had.
func TestAbout(t *testing.T) {
	var got About
	w := do(t, New(Config{Slot: 2, PID: 77}), AboutPath, "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil {
		t.Fatalf("default: %d %q %v", w.Code, w.Body, err)
	}
	if want := (About{Server: "corebench", Workers: 1, Slot: 2, PID: 77, GOMAXPROCS: runtime.GOMAXPROCS(0)}); got != want {
		t.Errorf("default: %+v, want %+v", got, want)
	}
	h := New(Config{About: func(context.Context) (About, error) {
		return About{Model: "prefork", Sched: "rr", Workers: 3}, nil
	}})
	w = do(t, h, AboutPath, "")
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Workers != 3 || got.Model != "prefork" || got.Sched != "rr" || got.Server != "corebench" {
		t.Errorf("prefork: %q %v", w.Body, err)
	}
	h = New(Config{About: func(context.Context) (About, error) { return About{}, errors.New("master gone") }})
	if w := do(t, h, AboutPath, ""); w.Code != 503 || !strings.Contains(w.Body.String(), "master gone") {
		t.Errorf("failing count: %d %q", w.Code, w.Body)
	}
}
