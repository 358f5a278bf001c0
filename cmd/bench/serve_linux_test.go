package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/variant"
)

// TestServeConformance runs the model conformance suite against every
// variant, each a real `bench serve` process started by its serve line.
// The event-loop mode of singlecore and prefork-rr passes it too.
func TestServeConformance(t *testing.T) {
	type tested struct {
		variant.Variant
		eventLoop bool
	}
	var vs []tested
	for _, rv := range variant.All() {
		vs = append(vs, tested{rv, false})
	}
	vs = append(vs, tested{variant.SingleCore, true}, tested{variant.PreforkRR, true})
	for _, ev := range vs {
		rv := ev.Variant
		workers := 2
		if rv.Prefork() {
			workers = 4
		}
		v := modeltest.Variant{Variant: rv, Workers: rv.Workers(workers)}
		args := append(append([]string{"serve"}, rv.ServeArgs(v.Workers)...), "--addr", "127.0.0.1:0")
		name := v.Name
		if ev.eventLoop {
			args = append(args, "--event-loop")
			name += "/event-loop"
		}
		v.Command = func(extra ...string) *exec.Cmd { return bench(append(args, extra...)...) }
		if rv.Prefork() {
			v.Scale = func(s *modeltest.Server, n int) error {
				st, _, stderr := modeltest.RunToExit(t, bench("scale", itoa(n), "--control", s.Info["control"]))
				if st != 0 {
					return fmt.Errorf("bench scale: status %d: %s", st, stderr)
				}
				return nil
			}
		}
		// In parallel: most of each variant's time is waiting (a drain,
		// a restart), and each serves on ports of its own.
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			modeltest.Run(t, v)
		})
	}
}

// TestServeUsage: bad command lines are one-line usage errors, status 2.
func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--bogus"},
		{"serve", "--model", "threads"},
		{"serve", "--model", "prefork", "--sched", "random"},
		{"serve", "--model", "singlecore", "--sched", "rr"},
		{"serve", "--model", "prefork-rr", "--sched", "os"},
		{"serve", "--workers", "many"},
		{"serve", "--workers", "max-x"},
		{"serve", "--workers", "0"},
		{"serve", "--workers", "-3"},
		{"serve", "--workers", "+2"},
		{"serve", "--workers", "max-4096"},
		{"serve", "--header-timeout", "-1s"},
		{"serve", "--header-timeout", "10s", "--request-timeout", "5s"},
		{"serve", "--idle-timeout", "soon"},
		{"serve", "--addr", "nonsense"},
		{"serve", "--addr", "127.0.0.1:99999"},
		{"serve", "--addr", "127.0.0.1"},
		{"serve", "--cpus", "0-"},
		{"serve", "--cpus", "4000"},
		{"serve", "--cpu-iters", "-1"},
		{"serve", "--grace", "0s"},
		{"serve", "--model", "goroutines", "--event-loop"},
		{"serve", "extra-argument"},
		{"nosuchcommand"},
	} {
		st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
		if st != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stderr == "" {
			t.Errorf("bench %s: status %d, stdout %q, stderr %q; want status 2 and one line on stderr", strings.Join(args, " "), st, stdout, stderr)
		}
	}
}

// TestHelp: help goes to stdout with status 0 and shows examples.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"serve", "--help"}, {"help", "serve"}} {
		st, stdout, _ := modeltest.RunToExit(t, bench(args...))
		if st != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("bench %s: status %d, stdout %q", strings.Join(args, " "), st, stdout)
		}
	}
	_, stdout, _ := modeltest.RunToExit(t, bench("serve", "--help"))
	if !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--sched") {
		t.Errorf("bench serve --help lacks flags or examples:\n%s", stdout)
	}
}

// TestServeSmoke: at smoke scale, from the flag or from the tools/
// scripts' environment, a server stops once it is ready.
func TestServeSmoke(t *testing.T) {
	for _, smokeBy := range []string{"flag", "env"} {
		cmd := bench("serve", "--model", "singlecore", "--addr", "127.0.0.1:0")
		if smokeBy == "flag" {
			cmd = bench(smokeFlag, "serve", "--model", "singlecore", "--addr", "127.0.0.1:0")
		} else {
			cmd.Env = append(cmd.Env, smokeEnv+"=1")
		}
		st, stdout, stderr := modeltest.RunToExit(t, cmd)
		if st != 0 || !strings.Contains(stdout, "listening on http://127.0.0.1:") {
			t.Errorf("smoke by %s: status %d, stdout %q, stderr %q", smokeBy, st, stdout, stderr)
		}
	}
}
