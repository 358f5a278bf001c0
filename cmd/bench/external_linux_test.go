package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/workload"
)

// externalEnv makes the test binary an external server of the user's,
// as `bench run --server` starts one: "primary" listens on --port and
// forks --workers workers that serve from its socket, so that only a
// measurement over the process tree sees their CPU.
const externalEnv = "COREBENCH_TEST_EXTERNAL"

func externalServer(role string, args []string) int {
	flag := func(name, def string) string {
		for i, a := range args {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return def
	}
	workers, _ := strconv.Atoi(flag("--workers", "1"))
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if role == "worker" {
		ln, err := net.FileListener(os.NewFile(3, "listener"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		slot, _ := strconv.Atoi(os.Getenv("SLOT"))
		srv := &http.Server{Handler: workload.New(workload.Config{Slot: slot, About: func(context.Context) (workload.About, error) {
			return workload.About{Model: "go-test", Workers: workers}, nil
		}})}
		go srv.Serve(ln)
		<-term
		srv.Shutdown(context.Background())
		return 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+flag("--port", "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "primary:", err)
		return 1
	}
	f, _ := ln.(*net.TCPListener).File()
	var ws []*exec.Cmd
	for i := range workers {
		w := exec.Command(os.Args[0])
		w.Args = append(w.Args, args...)
		w.Env = append(os.Environ(), externalEnv+"=worker", "SLOT="+strconv.Itoa(i))
		w.ExtraFiles, w.Stderr = []*os.File{f}, os.Stderr
		if err := w.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "primary:", err)
			return 1
		}
		ws = append(ws, w)
	}
	<-term
	for _, w := range ws {
		w.Process.Signal(syscall.SIGTERM)
		w.Wait()
	}
	return 0
}

// externalCommand is the --server COMMAND that runs this test binary as
// an external server.
func externalCommand() string {
	return fmt.Sprintf("%s=primary exec %q --port {port} --workers {workers}", externalEnv, os.Args[0])
}

// An external server runs beside a built-in model: its cases are under
// its name, measured over its whole tree, in results.json with its
// command, in the report; the servers that fail are one line each naming
// them with their stderr, exit 1, the rest still measured, and nothing
// left running (the sleeper a failing command forked included).
func TestRunExternal(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	sleeper := filepath.Join(dir, "sleeper.pid")
	st, stdout, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--models", "singlecore", "--workloads", "hello,cpu",
		"--server", "gotest="+externalCommand(),
		"--server", fmt.Sprintf("deaf=sleep 300 & echo $! > %s; echo 'no port for you' >&2; wait", sleeper),
		"--server", "quitter=echo 'port taken, giving up' >&2; exit 3",
		"--ready-timeout", "2s", "--out", out))
	if st != 1 {
		t.Fatalf("status %d, want 1 for the failing servers\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Servers) != 3 || run.Servers[0].Name != "gotest" || run.Servers[0].Command != externalCommand() {
		t.Errorf("servers recorded %+v", run.Servers)
	}
	byModel := map[string]int{}
	for _, c := range run.Cases {
		byModel[c.Model]++
		switch c.Model {
		case "singlecore":
			if c.Error != "" {
				t.Errorf("%s: %s", c.ID, c.Error)
			}
		case "gotest":
			if c.Error != "" || c.Summary == nil || c.Summary.RPS.Median <= 0 {
				t.Errorf("%s: error %q, summary %+v", c.ID, c.Error, c.Summary)
				continue
			}
			if c.Workers != 2 || !strings.Contains(c.Command, "--workers 2") || strings.Contains(c.Command, "{port}") {
				t.Errorf("%s: workers %d, command %q", c.ID, c.Workers, c.Command)
			}
			r := c.Repeats[0]
			// sh execs the primary; it and its 2 workers, whose CPU it is.
			if r.ServerProcs < 3 || r.ServerCPU <= 0 || r.ServerRSS <= 0 {
				t.Errorf("%s: %d processes, %v CPU s, %d bytes: not the whole tree", c.ID, r.ServerProcs, r.ServerCPU, r.ServerRSS)
			}
			if len(c.Summary.PerWorker) != 2 || c.Summary.Workers != 2 {
				t.Errorf("%s: per worker %v of %d, want slots 0 and 1 of 2 from X-Worker", c.ID, c.Summary.PerWorker, c.Summary.Workers)
			}
		case "deaf", "quitter":
			want := map[string]string{"deaf": "server deaf (sleep 300 &", "quitter": "server quitter (echo"}[c.Model]
			tail := map[string]string{"deaf": "not ready within 2s: no port for you", "quitter": "exited before it was ready (exit status 3): port taken, giving up"}[c.Model]
			if !strings.HasPrefix(c.Error, want) || !strings.Contains(c.Error, tail) || strings.Contains(c.Error, "\n") {
				t.Errorf("%s: error %q, want one line starting %q and saying %q", c.ID, c.Error, want, tail)
			}
		}
	}
	if byModel["singlecore"] != 2 || byModel["gotest"] != 2 || byModel["deaf"] != 2 || byModel["quitter"] != 2 {
		t.Errorf("cases per model %v", byModel)
	}
	if !strings.Contains(stderr, "4 of 8 cases failed") {
		t.Errorf("stderr does not count the failed cases:\n%s", stderr)
	}
	if !strings.Contains(stdout, "gotest") {
		t.Errorf("the run table does not name gotest:\n%s", stdout)
	}
	md, err := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "gotest") || !strings.Contains(string(md), "no port for you") {
		t.Errorf("report.md does not show gotest and the deaf server's error (%v)", err)
	}
	b, err := os.ReadFile(sleeper)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(l)
		if left := proc.WaitGone([]int{pid}, 0); len(left) > 0 {
			t.Errorf("the deaf server's sleeper %d outlived its case", pid)
		}
	}
}
