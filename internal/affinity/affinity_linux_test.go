package affinity

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStartPinned starts a child pinned to one CPU and reads its mask
// from /proc: it must be that CPU alone, while this process keeps its own.
func TestStartPinned(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpu := allowed[len(allowed)-1]
	cmd := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status")
	var out strings.Builder
	cmd.Stdout = &out
	if err := StartPinned(cmd, []int{cpu}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out.String()), "Cpus_allowed_list:"))
	if want := Format([]int{cpu}); got != want {
		t.Errorf("child allowed on %q, want %q", got, want)
	}
	after, _ := Allowed()
	if Format(after) != Format(allowed) {
		t.Errorf("this process is now on %s, was on %s", Format(after), Format(allowed))
	}
}
