package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/corebench/corebench/models/prefork"
)

// testMainEnv makes the test binary behave as the bench binary, so tests
// run real `bench` processes (and prefork re-executes real workers)
// without building anything first.
const testMainEnv = "COREBENCH_TEST_MAIN"

func TestMain(m *testing.M) {
	if role := os.Getenv(externalEnv); role != "" {
		os.Exit(externalServer(role, os.Args[1:]))
	}
	if os.Getenv(testMainEnv) == "1" || prefork.IsWorker() {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	reapOrphans()
	// Control sockets of the masters tests start go to a directory of
	// their own, away from any master the user runs.
	dir, err := os.MkdirTemp("", "bench-test-run-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bench returns a command that runs this test binary as `bench args...`.
func bench(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), testMainEnv+"=1")
	return cmd
}
