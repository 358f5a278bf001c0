package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/internal/redistest"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/models/prefork/control"
)

// startPrefork starts a prefork server with its control socket at a path
// of the test's, and returns it with that path.
func startPrefork(t *testing.T, sched string, workers int, extra ...string) (*modeltest.Server, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl", "master.sock")
	args := append([]string{"serve", "--model", "prefork", "--sched", sched, "--workers", strconv.Itoa(workers), "--addr", "127.0.0.1:0", "--control", sock}, extra...)
	s := modeltest.Start(t, bench(args...))
	if s.Info["control"] != sock {
		t.Fatalf("listening line says control=%q, want %s", s.Info["control"], sock)
	}
	return s, sock
}

// benchOK runs bench and fails the test unless it exits 0.
func benchOK(t *testing.T, args ...string) string {
	t.Helper()
	st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
	if st != 0 {
		t.Fatalf("bench %s: status %d: %s", strings.Join(args, " "), st, stderr)
	}
	return stdout
}

func psJSON(t *testing.T, sock string) control.Status {
	t.Helper()
	var st control.Status
	if err := json.Unmarshal([]byte(benchOK(t, "ps", "--json", "--control", sock)), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func pids(st control.Status) map[int]int {
	m := map[int]int{}
	for _, w := range st.Workers {
		m[w.Slot] = w.PID
	}
	return m
}

func TestControlPS(t *testing.T) {
	s, sock := startPrefork(t, "rr", 2)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]int64{}
	for range 10 {
		resp, err := c.Get(s.URL + "/counter/shared")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		seen[resp.Header.Get("X-Worker-Pid")]++
	}
	st := psJSON(t, sock)
	if st.Info.PID != s.PID || st.Info.Sched != "rr" || st.Counter != 10 || len(st.Workers) != 2 {
		t.Fatalf("ps: %+v", st)
	}
	for i, w := range st.Workers {
		if w.Slot != i || w.State != "online" || w.Restarts != 0 || w.Uptime <= 0 || w.RSS <= 0 || w.InFlight != 0 {
			t.Errorf("worker row %+v", w)
		}
		if w.Served != seen[strconv.Itoa(w.PID)] {
			t.Errorf("worker %d: ps says %d served, the client saw %d", w.Slot, w.Served, seen[strconv.Itoa(w.PID)])
		}
	}
	table := benchOK(t, "ps", "--control", sock)
	for _, want := range []string{"SLOT", "PID", "STATUS", "UPTIME", "RESTARTS", "SERVED", "IN FLIGHT", "CPU", "MEM", strconv.Itoa(st.Workers[1].PID), "shared counter 10"} {
		if !strings.Contains(table, want) {
			t.Errorf("bench ps lacks %q:\n%s", want, table)
		}
	}
	top := benchOK(t, "top", "--count", "2", "--control", sock)
	if strings.Count(top, "SLOT") != 2 || !strings.Contains(top, "REQ/S") {
		t.Errorf("bench top --count 2:\n%s", top)
	}
}

func TestControlReloadAndScale(t *testing.T) {
	for _, sched := range []string{"rr", "os", "reuseport"} {
		t.Run(sched, func(t *testing.T) {
			s, sock := startPrefork(t, sched, 2)
			before := pids(psJSON(t, sock))
			out := benchOK(t, "reload", "--control", sock)
			if !strings.Contains(out, "reload done") {
				t.Errorf("bench reload said:\n%s", out)
			}
			after := psJSON(t, sock)
			if len(after.Workers) != 2 {
				t.Fatalf("after reload: %+v", after.Workers)
			}
			for _, w := range after.Workers {
				if w.State != "online" || w.PID == before[w.Slot] || w.PID == 0 {
					t.Errorf("slot %d after reload: pid %d (was %d), %s", w.Slot, w.PID, before[w.Slot], w.State)
				}
			}
			if left := modeltest.WaitGone(mapValues(before), 5*time.Second); len(left) > 0 {
				t.Errorf("replaced workers %v still running", left)
			}

			benchOK(t, "scale", "4", "--control", sock)
			if st := psJSON(t, sock); len(st.Workers) != 4 || st.Info.Workers != 4 {
				t.Fatalf("after scale 4: %+v", st.Workers)
			}
			// Under os the kernel picks whichever worker wins the accept,
			// which on a busy machine can be the same one many times in
			// a row: ask until every worker has answered, within a bound
			// that only a worker that never accepts reaches.
			served := map[string]int{}
			for n := 0; len(served) < 4 && n < 2000; n += 20 {
				for w, c := range servedBy(t, s.URL, 20) {
					served[w] += c
				}
			}
			if len(served) != 4 {
				t.Errorf("after scale 4, %d workers served new connections: %v", len(served), served)
			}
			for w := range served {
				if !slices.Contains([]string{"0", "1", "2", "3"}, w) {
					t.Errorf("after scale 4, worker %q answered: %v", w, served)
				}
			}
			benchOK(t, "scale", "1", "--control", sock)
			st := psJSON(t, sock)
			if len(st.Workers) != 1 || st.Workers[0].Slot != 0 {
				t.Fatalf("after scale 1: %+v", st.Workers)
			}
			if served := servedBy(t, s.URL, 20); len(served) != 1 || served["0"] != 20 {
				t.Errorf("after scale 1, new connections went to %v", served)
			}
			if len(s.Descendants()) != 1 {
				t.Errorf("after scale 1 the master has %d children", len(s.Descendants()))
			}
		})
	}
}

func mapValues(m map[int]int) []int {
	var vs []int
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// servedBy makes n requests on new connections and counts them by X-Worker.
func servedBy(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	got := map[string]int{}
	for range n {
		resp, err := c.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got[resp.Header.Get("X-Worker")]++
	}
	return got
}

func TestControlLogs(t *testing.T) {
	_, sock := startPrefork(t, "rr", 1)
	benchOK(t, "reload", "--control", sock)
	out := benchOK(t, "logs", "--no-follow", "--control", sock)
	for _, want := range []string{"workers online", "rolling reload of 1 workers", "replaced by"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench logs lacks %q:\n%s", want, out)
		}
	}
}

// TestControlFindsMasters: one master is found without flags; with two,
// the error lists both; a killed master's socket is detected.
func TestControlFindsMasters(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		cmd := bench(args...)
		cmd.Env = append(cmd.Env, "XDG_RUNTIME_DIR="+dir)
		return modeltest.RunToExit(t, cmd)
	}
	start := func() *modeltest.Server {
		cmd := bench("serve", "--model", "prefork", "--workers", "1", "--addr", "127.0.0.1:0")
		cmd.Env = append(cmd.Env, "XDG_RUNTIME_DIR="+dir)
		return modeltest.Start(t, cmd)
	}
	if st, _, stderr := run("ps"); st != 1 || !strings.Contains(stderr, "no prefork master is running") {
		t.Errorf("no master: status %d, %q", st, stderr)
	}
	a := start()
	if st, stdout, stderr := run("ps"); st != 0 || !strings.Contains(stdout, "master pid "+strconv.Itoa(a.PID)) {
		t.Errorf("one master: status %d, %q %q", st, stdout, stderr)
	}
	b := start()
	st, _, stderr := run("ps")
	if st != 1 || !strings.Contains(stderr, "2 prefork masters are running") || !strings.Contains(stderr, a.Info["control"]) || !strings.Contains(stderr, b.Info["control"]) {
		t.Errorf("two masters: status %d, %q", st, stderr)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("the error is not one line: %q", stderr)
	}
	// A killed master leaves its socket; it is detected and cleared.
	kids := a.Descendants()
	a.Signal(syscall.SIGKILL)
	a.Wait(5 * time.Second)
	modeltest.WaitGone(kids, 5*time.Second)
	if _, err := os.Stat(a.Info["control"]); err != nil {
		t.Fatalf("the killed master's socket is already gone: %v", err)
	}
	if st, stdout, _ := run("ps"); st != 0 || !strings.Contains(stdout, "master pid "+strconv.Itoa(b.PID)) {
		t.Errorf("after killing one: status %d, %q", st, stdout)
	}
	if _, err := os.Stat(a.Info["control"]); err == nil {
		t.Errorf("the dead master's socket %s was not cleared", a.Info["control"])
	}
}

// TestControlSocketReplaced: a socket left behind by a killed master is
// replaced by the next master given the same path; a live one is not.
func TestControlSocketReplaced(t *testing.T) {
	a, sock := startPrefork(t, "rr", 1)
	st, _, stderr := modeltest.RunToExit(t, bench("serve", "--model", "prefork", "--workers", "1", "--addr", "127.0.0.1:0", "--control", sock))
	if st != 1 || !strings.Contains(stderr, "another master is running with control socket") {
		t.Errorf("second master on a live socket: status %d, %q", st, stderr)
	}
	kids := a.Descendants()
	a.Signal(syscall.SIGKILL)
	a.Wait(5 * time.Second)
	modeltest.WaitGone(kids, 5*time.Second)
	b := modeltest.Start(t, bench("serve", "--model", "prefork", "--workers", "1", "--addr", "127.0.0.1:0", "--control", sock))
	b.WaitLog(regexp.MustCompile(`replacing control socket .* left behind`), 0, 5*time.Second)
	if st := psJSON(t, sock); st.Info.PID != b.PID {
		t.Errorf("ps on the replaced socket reached pid %d, want %d", st.Info.PID, b.PID)
	}
}

// TestControlPermissions: the socket is 0600 in a 0700 directory, and a
// user other than the master's cannot use it.
func TestControlPermissions(t *testing.T) {
	_, sock := startPrefork(t, "rr", 1)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("socket mode %v, directory mode %v; want 0600 and 0700", fi.Mode(), di.Mode())
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to try the socket as another user")
	}
	// Another user, with a copy of this binary it may run.
	exe := copyExecutable(t)
	cmd := bench("ps", "--control", sock)
	cmd.Path = exe
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	st, _, stderr := modeltest.RunToExit(t, cmd)
	if st != 1 || !strings.Contains(stderr, "permission denied") {
		t.Errorf("another user: status %d, %q", st, stderr)
	}
}

// copyExecutable copies this test binary where any user may run it.
func copyExecutable(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bench-exe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "bench.test")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	return exe
}

// clientFrom returns a client whose connections come from loopback
// address ip, a distinct client address for sticky scheduling.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
}

// TestStickySessions: under sticky a client address keeps its worker, so
// a session in that worker's memory survives new connections; under rr
// the next connection goes to another worker, which does not know it.
func TestStickySessions(t *testing.T) {
	for _, sched := range []string{"sticky", "rr"} {
		t.Run(sched, func(t *testing.T) {
			s, _ := startPrefork(t, sched, 4)
			workersSeen := map[string]bool{}
			found := 0
			for i := range 8 {
				c := clientFrom("127.0.0." + strconv.Itoa(10+i))
				resp, err := c.Get(s.URL + "/session?user=u" + strconv.Itoa(i))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cookie := strings.Split(resp.Header.Get("Set-Cookie"), ";")[0]
				home := resp.Header.Get("X-Worker")
				workersSeen[home] = true
				for range 3 {
					req, _ := http.NewRequest("GET", s.URL+"/session/me", nil)
					req.Header.Set("Cookie", cookie)
					r, err := c.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
					if sched == "sticky" && r.Header.Get("X-Worker") != home {
						t.Errorf("client %d: worker %s, then %s", i, home, r.Header.Get("X-Worker"))
					}
					if r.StatusCode == 200 {
						found++
					}
				}
			}
			switch sched {
			case "sticky":
				if found != 24 {
					t.Errorf("sticky: %d of 24 session lookups found the session", found)
				}
				if len(workersSeen) < 2 {
					t.Errorf("sticky: 8 client addresses all went to worker %v", workersSeen)
				}
			case "rr":
				// Each client's next three connections go to the three other workers.
				if found != 0 {
					t.Errorf("rr: %d session lookups found a session made on another worker", found)
				}
			}
		})
	}
}

// TestRedisState: with --state redis://..., the counter and the sessions
// live in Redis, so every worker of an rr cluster sees the same ones.
func TestRedisState(t *testing.T) {
	url := redistest.Start(t)
	s, _ := startPrefork(t, "rr", 4, "--state", url)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path, cookie string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	workers := map[string]bool{}
	for i := 1; i <= 8; i++ {
		resp, body := get("/counter/shared", "")
		workers[resp.Header.Get("X-Worker")] = true
		if want := `"value":` + strconv.Itoa(i) + `,`; !strings.Contains(body, want) {
			t.Errorf("request %d: %s", i, body)
		}
	}
	if len(workers) != 4 {
		t.Errorf("8 new connections reached workers %v", workers)
	}
	resp, _ := get("/session?user=grace", "")
	cookie := strings.Split(resp.Header.Get("Set-Cookie"), ";")[0]
	for range 4 {
		if r, body := get("/session/me", cookie); r.StatusCode != 200 || !strings.Contains(body, "grace") {
			t.Errorf("worker %s: %d %s", r.Header.Get("X-Worker"), r.StatusCode, body)
		}
	}
	// An unreachable store is a clear error at start, status 1.
	st, _, stderr := modeltest.RunToExit(t, bench("serve", "--model", "prefork", "--addr", "127.0.0.1:0", "--state", "redis://127.0.0.1:1"))
	if st != 1 || !strings.Contains(stderr, "cannot reach the store") {
		t.Errorf("unreachable store: status %d, %q", st, stderr)
	}
}

// TestControlStoppedMaster: every control command gives up on a master
// that does not answer (kill -STOP), with one line and status 1, instead
// of hanging until killed; and a reload or scale it asked for is not
// carried out once the master runs again, since nobody waits for it.
func TestControlStoppedMaster(t *testing.T) {
	s, sock := startPrefork(t, "rr", 1)
	before := psJSON(t, sock)
	if err := syscall.Kill(s.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(s.PID, syscall.SIGCONT) }) // before the server is stopped
	// The signal stops it a little later: wait for the stop, as its parent
	// may, leaving it to be waited for again.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, s.PID, &info, unix.WSTOPPED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	cmds := [][]string{{"ps"}, {"ps", "--json"}, {"top", "--count", "1"}, {"reload"}, {"scale", "2"}, {"logs", "--no-follow"}, {"logs", "--events", "--no-follow"}}
	var wg sync.WaitGroup
	for _, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, stdout, stderr := modeltest.RunToExit(t, bench(append(args, "--control", sock, "--timeout", "1s")...))
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if st != 1 || len(lines) != 1 || !strings.Contains(stderr, "master at "+sock+" not responding") {
				t.Errorf("bench %s on a stopped master: status %d, stdout %q, stderr %q; want status 1 and one line saying it does not respond", strings.Join(args, " "), st, stdout, stderr)
			}
		}()
	}
	wg.Wait()
	syscall.Kill(s.PID, syscall.SIGCONT)
	for _, op := range []string{"reload", "scale"} {
		s.WaitLog(regexp.MustCompile(`not carrying out `+op+`: the client gave up`), 0, 30*time.Second)
	}
	after := psJSON(t, sock)
	if len(after.Workers) != 1 || after.Workers[0].PID != before.Workers[0].PID {
		t.Errorf("after the stop: %+v, want the same one worker as before (%+v)", after.Workers, before.Workers)
	}
}

// TestControlScaleCounts: bench scale takes N, +N and -N (relative, as
// pm2 scale does), max and max-K, and says what a relative or max count
// came to; it refuses anything else, and a count that leaves no worker,
// with one line and status 2, before anything changes. (+1 shrank 6
// workers to 1, and -1 4 to 1.)
func TestControlScaleCounts(t *testing.T) {
	_, sock := startPrefork(t, "rr", 2)
	workers := func() int { return len(psJSON(t, sock).Workers) }
	for _, tt := range []struct {
		args []string
		want int
		say  string
	}{
		{[]string{"+1"}, 3, "+1: 3 workers (2 now)"},
		{[]string{"-1"}, 2, "-1: 2 workers (3 now)"},
		{[]string{"--", "-1"}, 1, "-1: 1 worker (2 now)"},
		{[]string{"+2"}, 3, "+2: 3 workers (1 now)"},
		{[]string{"1"}, 1, "scaling down from 3 to 1 workers"},
	} {
		out := benchOK(t, append([]string{"scale", "--control", sock}, tt.args...)...)
		if !strings.Contains(out, tt.say) {
			t.Errorf("bench scale %s said %q, want %q", strings.Join(tt.args, " "), out, tt.say)
		}
		if n := workers(); n != tt.want {
			t.Fatalf("bench scale %s: %d workers, want %d", strings.Join(tt.args, " "), n, tt.want)
		}
	}
	for _, args := range [][]string{{"0"}, {"-1"}, {"-5"}, {"+0"}, {"max-4096"}, {"many"}, {"+"}, {"2", "3"}, {"5000"}, {"+5000"}} {
		st, stdout, stderr := modeltest.RunToExit(t, bench(append([]string{"scale", "--control", sock}, args...)...))
		if st != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stderr == "" {
			t.Errorf("bench scale %s: status %d, stdout %q, stderr %q; want status 2 and one line on stderr", strings.Join(args, " "), st, stdout, stderr)
		}
	}
	if n := workers(); n != 1 {
		t.Errorf("%d workers after the refused counts, want 1", n)
	}
}
