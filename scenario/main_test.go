package scenario

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// fakeServeEnv makes the test binary a stand-in for `bench serve`, as the
// suite's tests do: "serve" takes the flags the scenarios pass and serves
// with the models themselves (singlecore and goroutines in this process,
// prefork as a master whose workers are this binary again), so that the
// scenarios drive real servers, a master's control socket included,
// without the CLI. "external" is another stack's server for --server: one
// process, port from --port, with X-Worker-Pid; "mute" the same without
// it.
const fakeServeEnv = "SCENARIO_FAKE_SERVE"

func TestMain(m *testing.M) {
	switch {
	case prefork.IsWorker():
		os.Exit(fakeWorker())
	case os.Getenv(fakeServeEnv) == "serve":
		os.Exit(fakeServe(os.Args[1:]))
	case os.Getenv(fakeServeEnv) != "":
		os.Exit(fakeExternal(os.Getenv(fakeServeEnv), os.Args[1:]))
	}
	proc.ReapOrphans()
	os.Exit(m.Run())
}

// serveCmd is Env.Serve: this test binary as `bench serve`.
func serveCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), fakeServeEnv+"=serve")
	return cmd
}

// external returns an external server (bench run --server) that runs this
// test binary as role.
func external(t *testing.T, role string) variant.Variant {
	t.Helper()
	v, err := variant.ParseServer(fmt.Sprintf("%s=%s=%s %s exec %q --port {port}", role, fakeServeEnv, role, mark(t), os.Args[0]))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// terminated returns a context that SIGTERM cancels, as bench serve's.
func terminated() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM)
}

// fakeServe serves as `bench serve` with args would (args[0] is "serve").
func fakeServe(args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "want bench serve")
		return 2
	}
	args = args[1:]
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o models.Options
	model := fs.String("model", "", "")
	sched := fs.String("sched", "", "")
	fs.IntVar(&o.Workers, "workers", 1, "")
	fs.StringVar(&o.Addr, "addr", "", "")
	cpus := fs.String("cpus", "", "")
	fs.BoolVar(&o.Chaos, "chaos", false, "")
	fs.BoolVar(&o.EventLoop, "event-loop", false, "")
	fs.DurationVar(&o.Startup, "startup", 0, "")
	fs.StringVar(&o.State, "state", "", "")
	var p prefork.Options
	fs.StringVar(&p.Control, "control", "", "")
	fs.BoolVar(&p.NoHandover, "no-handover", false, "")
	fs.DurationVar(&p.ExitAfter, "exit-after", 0, "")
	fs.DurationVar(&p.Policy.MinUptime, "min-uptime", 0, "")
	fs.IntVar(&p.Policy.MaxRestarts, "max-restarts", 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpus != "" {
		var err error
		if o.CPUs, err = affinity.ParseList(*cpus); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	o.Ready = func(i models.Info) { fmt.Println(i.Line()) }
	ctx, stop := terminated()
	defer stop()
	var err error
	switch *model {
	case models.SingleCore:
		err = models.RunProcess(ctx, o, models.SingleCore, "none", 1)
	case models.Goroutines:
		err = models.RunProcess(ctx, o, models.Goroutines, "go", o.Workers)
	case models.Prefork:
		p.Options, p.Sched = o, *sched
		err = prefork.Run(ctx, p)
	default:
		err = fmt.Errorf("unknown --model %q", *model)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fakeWorker is a prefork worker of fakeServe's master.
func fakeWorker() int {
	signal.Ignore(os.Interrupt)
	ctx, stop := terminated()
	defer stop()
	if err := prefork.RunWorker(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fakeExternal serves as an external server of role on --port, until
// SIGTERM: an answer to everything, X-Worker 0 and X-Worker-Pid its pid
// unless it is mute.
func fakeExternal(role string, args []string) int {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	port := fs.Int("port", 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := terminated()
	defer stop()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role != "mute" {
			w.Header().Set("X-Worker", "0")
			w.Header().Set("X-Worker-Pid", strconv.Itoa(os.Getpid()))
		}
		if r.URL.Path == loadgen.DiscoverPath {
			io.WriteString(w, `{"workers":1}`)
			return
		}
		io.WriteString(w, strings.Repeat("x", 16))
	})}
	go srv.Serve(ln)
	<-ctx.Done()
	srv.Shutdown(context.Background())
	return 0
}

// logged collects a scenario's progress lines.
type logged struct {
	mu    sync.Mutex
	lines []string
}

func (l *logged) log(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }

func (l *logged) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// The tests of a scenario's outcome (requests failed, actions, events)
// run in parallel, the tests' own -parallel at a time; those that read
// its latencies (stall, block) run alone, before them.

// run runs s against the fake bench serve with the real load generator,
// and checks that every server it started is gone once it returns.
func run(t *testing.T, s Scenario) (*results.Scenario, *logged, error) {
	t.Helper()
	return runCtx(t, context.Background(), s, nil)
}

// runCtx is run under ctx, with each progress line also passed to
// watch, if set.
func runCtx(t *testing.T, ctx context.Context, s Scenario, watch func(string)) (*results.Scenario, *logged, error) {
	t.Helper()
	var l logged
	log := l.log
	if watch != nil {
		log = func(s string) { l.log(s); watch(s) }
	}
	serve := func(args ...string) *exec.Cmd {
		cmd := serveCmd(args...)
		cmd.Env = append(cmd.Env, mark(t))
		return cmd
	}
	r, err := s.Run(ctx, Env{Serve: serve, Generate: loadgen.Generate, Dir: privateDir(t), Log: log})
	if left := marked(t); len(left) > 0 {
		t.Errorf("%s left processes behind: %v", s.Name(), left)
	}
	return r, &l, err
}

// markEnv marks the processes a test starts, so that it can tell its own
// from those of the tests that run beside it.
const markEnv = "SCENARIO_TEST"

func mark(t *testing.T) string { return markEnv + "=" + t.Name() }

// marked returns this process's descendants that t started.
func marked(t *testing.T) []int {
	return slices.DeleteFunc(proc.Tree(os.Getpid())[1:], func(pid int) bool {
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		return !slices.Contains(strings.Split(string(env), "\x00"), mark(t))
	})
}

// mustRun is run for a scenario that must succeed.
func mustRun(t *testing.T, s Scenario) (*results.Scenario, *logged) {
	t.Helper()
	r, l, err := run(t, s)
	if err != nil {
		t.Fatalf("%s: %v\n%s", s.Name(), err, l)
	}
	return r, l
}

// light is the load of these tests: enough requests in flight to matter,
// light enough for a busy machine, short.
func light(l Load) Load {
	l.Rate, l.Duration = 200, time.Second
	return l
}

// privateDir is a directory for control sockets, which a master refuses
// in one that lets other users in.
func privateDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
