package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/models/modeltest"
)

// TestReap: bench reap waits for the processes running a binary from its
// directory, kills those left after the grace, and removes the
// directory; what a remote host's Close runs there.
func TestReap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shipped")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sleep"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	brief, long := exec.Command(filepath.Join(dir, "sleep"), "0.2"), exec.Command(filepath.Join(dir, "sleep"), "60")
	for _, c := range []*exec.Cmd{brief, long} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	st, stdout, stderr := modeltest.RunToExit(t, bench("reap", dir, "1s"))
	if st != 0 || stdout != "" || stderr != "" {
		t.Fatalf("bench reap: status %d, stdout %q, stderr %q", st, stdout, stderr)
	}
	if took := time.Since(began); took < time.Second || took > 30*time.Second {
		t.Errorf("bench reap took %v, want its 1 s grace and not the 60 s sleep", took)
	}
	if err := brief.Wait(); err != nil {
		t.Errorf("the brief process: %v, want it to end by itself", err)
	}
	long.Wait()
	if ws := long.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the long process: %v, want it killed after the grace", long.ProcessState)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after bench reap: %v, want it removed", dir, err)
	}
	for _, args := range [][]string{{"reap"}, {"reap", "relative", "1s"}, {"reap", dir, "soon"}} {
		if st, _, _ := modeltest.RunToExit(t, bench(args...)); st != 2 {
			t.Errorf("bench %v: status %d, want 2", args, st)
		}
	}
}
