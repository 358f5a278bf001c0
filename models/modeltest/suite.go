//go:build linux

package modeltest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// Variant is a built-in variant under test and how to start its server.
type Variant struct {
	variant.Variant // its name, model and scheduler
	// Workers is how many workers Command's server runs (the variant's
	// Workers method, for what it was asked, which this field hides);
	// the suite checks X-Worker against it.
	Workers int
	// Command returns a `bench serve` command for this variant that
	// listens on 127.0.0.1:0, with extra arguments appended.
	Command func(extra ...string) *exec.Cmd
	// Scale, when set (prefork), scales s to n workers and returns once
	// the scale is done, as `bench scale` does.
	Scale func(s *Server, n int) error
}

// slots is how many X-Worker slots v's server has: a one-process model has
// one, whatever its GOMAXPROCS.
func (v Variant) slots() int {
	if v.OneProcess() {
		return 1
	}
	return v.Workers
}

// sticky reports whether v sends every connection of a client address
// to one worker.
func (v Variant) sticky() bool { return v.Variant == variant.PreforkSticky }

// Run runs the conformance suite against v.
func Run(t *testing.T, v Variant) {
	s := Start(t, v.Command())
	t.Run("Ready", func(t *testing.T) { testReady(t, v, s) })
	t.Run("Endpoints", func(t *testing.T) { testEndpoints(t, v, s) })
	t.Run("About", func(t *testing.T) { testAbout(t, v, s) })
	if v.Scale != nil {
		t.Run("AboutAfterScale", func(t *testing.T) { testAboutAfterScale(t, v) })
	}
	t.Run("BadParameters", func(t *testing.T) { testBadParameters(t, s) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, s) })
	t.Run("PerProcessCounter", func(t *testing.T) { testPerProcessCounter(t, v, s) })
	if v.Prefork() {
		t.Run("Distribution", func(t *testing.T) { testDistribution(t, v, s) })
	}
	t.Run("GracefulShutdown", func(t *testing.T) { testGracefulShutdown(t, v) })
	t.Run("Crash", func(t *testing.T) { testCrash(t, v) })
	if v.Prefork() {
		t.Run("KillMaster", func(t *testing.T) { testKillMaster(t, v) })
	}
	t.Run("PortInUse", func(t *testing.T) { testPortInUse(t, v) })
}

// fresh returns a client that opens a new connection for every request,
// so connection-level scheduling (rr, os, reuseport) decides each one.
func fresh() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// get fetches url and returns the response with its body read.
func get(t testing.TB, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, string(b)
}

func slotOf(t testing.TB, resp *http.Response, workers int) (slot, pid int) {
	t.Helper()
	slot, err := strconv.Atoi(resp.Header.Get("X-Worker"))
	if err != nil || slot < 0 || slot >= workers {
		t.Fatalf("X-Worker %q: want a slot in 0..%d", resp.Header.Get("X-Worker"), workers-1)
	}
	pid, err = strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
	if err != nil || pid <= 0 {
		t.Fatalf("X-Worker-Pid %q: want a pid", resp.Header.Get("X-Worker-Pid"))
	}
	return slot, pid
}

func testReady(t *testing.T, v Variant, s *Server) {
	if s.Info["model"] != v.Model {
		t.Errorf("listening line says model=%q, want %q", s.Info["model"], v.Model)
	}
	if v.Prefork() && s.Info["sched"] != v.Sched {
		t.Errorf("listening line says sched=%q, want %q", s.Info["sched"], v.Sched)
	}
	if s.Info["workers"] != strconv.Itoa(v.Workers) {
		t.Errorf("listening line says workers=%q, want %d", s.Info["workers"], v.Workers)
	}
	if s.Info["pid"] != strconv.Itoa(s.PID) {
		t.Errorf("listening line says pid=%q, the process is %d", s.Info["pid"], s.PID)
	}
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Errorf("server listens on %s; the default must be loopback", s.Addr)
	}
}

// cpuDigest is the expected body of /cpu?n=iters, computed here
// independently of the workload package.
func cpuDigest(iters int) string {
	d := sha256.Sum256([]byte("corebench"))
	for i := 0; i < iters; i++ {
		d = sha256.Sum256(d[:])
	}
	return hex.EncodeToString(d[:]) + "\n"
}

func testEndpoints(t *testing.T, v Variant, s *Server) {
	c := fresh()
	tests := []struct {
		path, ctype string
		code        int
		body        string // exact, when not empty
		match       string // regexp, when not empty
	}{
		{path: "/", ctype: "text/plain", code: 200, body: "Hello, World!"},
		{path: "/json", ctype: "application/json", code: 200, body: `{"message":"Hello, World!"}`},
		{path: "/cpu?n=0", ctype: "text/plain", code: 200, body: cpuDigest(0)},
		{path: "/cpu?n=1000", ctype: "text/plain", code: 200, body: cpuDigest(1000)},
		{path: "/cpu", ctype: "text/plain", code: 200, match: `^[0-9a-f]{64}\n$`},
		{path: "/io?ms=1", ctype: "text/plain", code: 200, body: "waited 1 ms\n"},
		{path: "/counter", ctype: "application/json", code: 200, match: `^\{"value":[1-9][0-9]*,"worker":[0-9]+,"pid":[0-9]+\}$`},
		{path: "/counter/shared", ctype: "application/json", code: 200, match: `^\{"value":[1-9][0-9]*,"worker":[0-9]+,"pid":[0-9]+\}$`},
		{path: "/session/me", ctype: "application/json", code: 401},
		{path: "/crash", ctype: "text/plain", code: 404}, // no --chaos
		{path: "/no/such/page", ctype: "text/plain", code: 404},
	}
	for _, tt := range tests {
		resp, body := get(t, c, s.URL+tt.path)
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: status %d, want %d (body %q)", tt.path, resp.StatusCode, tt.code, body)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", tt.path, ct, tt.ctype)
		}
		if tt.body != "" && body != tt.body {
			t.Errorf("GET %s: body %q, want %q", tt.path, body, tt.body)
		}
		if tt.match != "" && !regexp.MustCompile(tt.match).MatchString(body) {
			t.Errorf("GET %s: body %q does not match %s", tt.path, body, tt.match)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("GET %s: Content-Length %q for a body of %d bytes", tt.path, cl, len(body))
		}
		if resp.Header.Get("Server") == "" || resp.Header.Get("Date") == "" {
			t.Errorf("GET %s: missing Server or Date header: %v", tt.path, resp.Header)
		}
		slotOf(t, resp, v.Workers)
	}

	// A session made on one worker is known to that worker.
	jar := &http.Client{Timeout: 10 * time.Second} // keep-alive: the same worker
	resp, body := get(t, jar, s.URL+"/session?user=ada")
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 200 || !strings.Contains(body, `"user":"ada"`) || cookie == "" {
		t.Fatalf("GET /session?user=ada: %d %q, Set-Cookie %q", resp.StatusCode, body, cookie)
	}
	req, _ := http.NewRequest("GET", s.URL+"/session/me", nil)
	req.Header.Set("Cookie", strings.Split(cookie, ";")[0])
	resp2, err := jar.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != 200 || !strings.Contains(string(b), `"user":"ada"`) {
		t.Errorf("GET /session/me on the same connection: %d %q", resp2.StatusCode, b)
	}
}

// checkAbout asks workload.AboutPath over new connections until every one of the
// workers slots has answered (at most tries times), and checks that each
// says it runs workers workers and names itself as its headers do.
func checkAbout(t *testing.T, v Variant, s *Server, workers, tries int) {
	t.Helper()
	if v.sticky() {
		tries = min(tries, 10) // one client address, one worker
	}
	c := fresh()
	seen := map[int]bool{}
	for i := 0; i < tries && len(seen) < workers; i++ {
		resp, body := get(t, c, s.URL+workload.AboutPath)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s %q", workload.AboutPath, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var a workload.About
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("GET %s: %q: %v", workload.AboutPath, body, err)
		}
		slot, pid := slotOf(t, resp, workers)
		if a.Workers != workers || a.Server != "corebench" || a.Model != v.Model || a.Slot != slot || a.PID != pid {
			t.Fatalf("GET %s from worker %d (pid %d): %s; want server corebench, model %s, workers %d, its own slot and pid", workload.AboutPath, slot, pid, body, v.Model, workers)
		}
		if v.Prefork() && a.Sched != v.Sched {
			t.Errorf("GET %s: sched %q, want %q", workload.AboutPath, a.Sched, v.Sched)
		}
		seen[slot] = true
	}
	// rr answers in turn; the kernel's policies may take a while to reach
	// every worker, and sticky never leaves the first.
	if len(seen) < workers && !v.sticky() {
		t.Errorf("only workers %v answered %d requests for %s", seen, tries, workload.AboutPath)
	}
}

// testAbout: the server says how many workers it runs, from every worker.
func testAbout(t *testing.T, v Variant, s *Server) {
	checkAbout(t, v, s, v.slots(), 500*v.slots())
}

// testAboutAfterScale: the count follows a scale up and down.
func testAboutAfterScale(t *testing.T, v Variant) {
	s := Start(t, v.Command())
	for _, n := range []int{v.Workers + 1, 1} {
		if err := v.Scale(s, n); err != nil {
			t.Fatalf("scale to %d: %v", n, err)
		}
		checkAbout(t, v, s, n, 500*n)
	}
}

func testBadParameters(t *testing.T, s *Server) {
	c := fresh()
	for _, path := range []string{
		"/cpu?n=-1", "/cpu?n=abc", "/cpu?n=" + strconv.Itoa(workload.MaxCPUIters+1), "/cpu?n=99999999999999999999999", "/cpu?n=1e3",
		"/io?ms=-5", "/io?ms=30001", "/io?ms=soon", "/session?user=" + strings.Repeat("x", 65), "/session?user=a%20b",
	} {
		resp, body := get(t, c, s.URL+path)
		if resp.StatusCode != http.StatusBadRequest || len(strings.TrimSpace(body)) == 0 || strings.Count(body, "\n") > 1 {
			t.Errorf("GET %s: %d %q, want 400 with a one-line message", path, resp.StatusCode, body)
		}
	}
}

func testConcurrent(t *testing.T, s *Server) {
	const clients, each = 32, 25
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	var values []int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, err := c.Get(s.URL + "/counter/shared")
				if err != nil {
					t.Errorf("GET /counter/shared: %v", err)
					return
				}
				var v struct{ Value int64 }
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("GET /counter/shared: %d %v", resp.StatusCode, err)
					return
				}
				mu.Lock()
				values = append(values, v.Value)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The shared counter is one counter for the whole server: the values
	// are distinct and consecutive whichever worker served them.
	slices.Sort(values)
	for i := 1; i < len(values); i++ {
		if values[i] != values[i-1]+1 {
			t.Fatalf("shared counter values not consecutive: ...%d, %d... of %d requests", values[i-1], values[i], len(values))
		}
	}
	if len(values) != clients*each {
		t.Fatalf("%d answers for %d requests", len(values), clients*each)
	}
}

func testPerProcessCounter(t *testing.T, v Variant, s *Server) {
	c := fresh()
	byPID := map[string][]int64{}
	for range 8 * v.Workers {
		resp, body := get(t, c, s.URL+"/counter")
		var r struct{ Value int64 }
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/counter: %q: %v", body, err)
		}
		pid := resp.Header.Get("X-Worker-Pid")
		byPID[pid] = append(byPID[pid], r.Value)
	}
	// Each process counts only what it served itself.
	for pid, vs := range byPID {
		for i := 1; i < len(vs); i++ {
			if vs[i] != vs[i-1]+1 {
				t.Errorf("pid %s: /counter went %d -> %d; a per-process counter counts only its own requests", pid, vs[i-1], vs[i])
			}
		}
	}
	if !v.Prefork() && len(byPID) != 1 {
		t.Errorf("%d pids answered a one-process server", len(byPID))
	}
}

func testDistribution(t *testing.T, v Variant, s *Server) {
	c := fresh()
	counts := make([]int, v.Workers)
	if v.Variant == variant.PreforkRR {
		// The master hands connections out in turn: exactly even.
		for range 25 * v.Workers {
			resp, _ := get(t, c, s.URL+"/")
			slot, _ := slotOf(t, resp, v.Workers)
			counts[slot]++
		}
		for slot, n := range counts {
			if n != 25 {
				t.Errorf("rr: worker %d served %d of %d new connections, want exactly 25 each: %v", slot, n, 25*v.Workers, counts)
			}
		}
		return
	}
	if v.sticky() {
		// One client address, one worker.
		for range 10 * v.Workers {
			resp, _ := get(t, c, s.URL+"/")
			slot, _ := slotOf(t, resp, v.Workers)
			counts[slot]++
		}
		if slices.Max(counts) != sum(counts) {
			t.Errorf("sticky: one client address was served by several workers: %v", counts)
		}
		return
	}
	// The kernel decides; every worker must get some.
	for i := 0; i < 2000 && slices.Contains(counts, 0); i++ {
		resp, _ := get(t, c, s.URL+"/")
		slot, _ := slotOf(t, resp, v.Workers)
		counts[slot]++
	}
	if slices.Contains(counts, 0) {
		t.Errorf("%s: some worker served none of %d new connections: %v", v.Sched, sum(counts), counts)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// testGracefulShutdown sends SIGTERM while slow requests are in flight on
// connections the server has accepted: every one completes.
func testGracefulShutdown(t *testing.T, v Variant) {
	s := Start(t, v.Command())
	const n = 8
	type result struct {
		code int
		body string
		err  error
	}
	results := make(chan result, n)
	written := make(chan struct{}, n)
	for range n {
		// One connection per client, opened (and so accepted) by a
		// first quick request.
		c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
		get(t, c, s.URL+"/")
		go func() {
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written <- struct{}{} }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", s.URL+"/io?ms=300", nil)
			resp, err := c.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(b), err}
		}()
	}
	for range n {
		<-written
	}
	s.Signal(syscall.SIGTERM)
	for range n {
		r := <-results
		if r.err != nil || r.code != 200 || r.body != "waited 300 ms\n" {
			t.Errorf("request in flight at SIGTERM: %d %q %v", r.code, r.body, r.err)
		}
	}
	if st := s.Wait(15 * time.Second); st != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", st, s.Stderr())
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Errorf("%s still accepts connections after the server exited", s.Addr)
	}
}

// testCrash asks /crash under --chaos. One process models go down with
// status 1; prefork restarts the slot with a new pid while the other
// workers keep serving, as its master's events tell.
func testCrash(t *testing.T, v Variant) {
	s := Start(t, v.Command("--chaos"))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	resp, _ := get(t, c, s.URL+"/")
	slot, pid := slotOf(t, resp, v.Workers)
	var events *control.Watcher
	if v.Prefork() {
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if events, err = (control.Client{Path: s.Info["control"]}).Watch(ctx); err != nil {
			t.Fatalf("watching the master's events at control=%q: %v", s.Info["control"], err)
		}
		defer events.Close()
	}
	// POST: Go's client retries a GET that dies on a reused connection,
	// and the retry would crash a second worker.
	if resp, err := c.Post(s.URL+"/crash", "text/plain", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("/crash answered %d instead of crashing", resp.StatusCode)
	}
	if !v.Prefork() {
		if st := s.Wait(10 * time.Second); st != 1 {
			t.Fatalf("/crash: exit status %d, want 1", st)
		}
		return
	}
	// The others serve while the slot comes back; no request is lost.
	f := fresh()
	for range 4 * v.Workers {
		resp, _ := get(t, f, s.URL+"/")
		if resp.StatusCode != 200 {
			t.Errorf("status %d while worker %d restarts", resp.StatusCode, slot)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	crashed, err := events.Next(ctx, func(e control.Event) bool { return e.Kind == control.EventCrashed })
	if err != nil {
		t.Fatalf("no crash event after /crash: %v; stderr:\n%s", err, s.Stderr())
	}
	if crashed.Slot != slot || crashed.PID != pid {
		t.Fatalf("worker %d (pid %d) took /crash, but worker %d (pid %d) crashed", slot, pid, crashed.Slot, crashed.PID)
	}
	online, err := events.Next(ctx, func(e control.Event) bool { return e.Kind == control.EventOnline && e.Slot == slot })
	if err != nil {
		t.Fatalf("worker %d not back online: %v; stderr:\n%s", slot, err, s.Stderr())
	}
	if online.PID == pid || online.Restarts != 1 {
		t.Fatalf("after worker %d (pid %d) crashed: %+v, want a new pid and 1 restart", slot, pid, online)
	}
	newPID := online.PID
	seen := false
	for i := 0; i < 50*v.Workers && !seen; i++ {
		resp, _ := get(t, f, s.URL+"/")
		sl, p := slotOf(t, resp, v.Workers)
		if sl == slot {
			if p != newPID {
				t.Fatalf("slot %d answered from pid %d, want the restarted %d", slot, p, newPID)
			}
			seen = true
		}
	}
	if !seen {
		t.Errorf("restarted slot %d never served", slot)
	}
}

// testKillMaster SIGKILLs the master: no worker may outlive it by 2 s.
func testKillMaster(t *testing.T, v Variant) {
	s := Start(t, v.Command())
	workers := s.Descendants()
	if len(workers) != v.Workers {
		t.Fatalf("master has %d child processes, want %d", len(workers), v.Workers)
	}
	s.Signal(syscall.SIGKILL)
	s.Wait(5 * time.Second)
	if left := WaitGone(workers, 2*time.Second); len(left) > 0 {
		t.Fatalf("workers %v still alive 2s after their master was killed", left)
	}
}

// testPortInUse: a taken port is a clear one-line error and status 1.
func testPortInUse(t *testing.T, v Variant) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, stdout, stderr := RunToExit(t, v.Command("--addr", ln.Addr().String()))
	if st != 1 {
		t.Errorf("exit status %d, want 1", st)
	}
	if stdout != "" {
		t.Errorf("printed on stdout: %q", stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "address already in use") || !strings.Contains(last, ln.Addr().String()) {
		t.Errorf("error does not say the address is in use: %q", stderr)
	}
	if len(lines) != 1 {
		t.Errorf("want one line of error, got:\n%s", stderr)
	}
}
