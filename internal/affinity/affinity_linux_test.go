package affinity

import (
	"fmt"
	"os"
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

// TestAvailableWiderThanMask runs this test binary pinned to one CPU and
// asks it for Available: a child of a pinned process (bench serve under
// bench run, which pins itself to the generator's CPUs) must see its
// cpuset, every CPU this process may use, not the one CPU it inherited.
func TestAvailableWiderThanMask(t *testing.T) {
	if os.Getenv("AFFINITY_HELPER") == "1" {
		mask, _ := Allowed()
		avail, err := Available()
		fmt.Printf("mask=%s available=%s err=%v\n", Format(mask), Format(avail), err)
		after, _ := Allowed()
		fmt.Printf("after=%s\n", Format(after))
		return
	}
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skip("needs 2 CPUs: one to pin the child to, another it may use")
	}
	one := allowed[len(allowed)-1]
	cmd := exec.Command(os.Args[0], "-test.run=^TestAvailableWiderThanMask$")
	cmd.Env = append(os.Environ(), "AFFINITY_HELPER=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := StartPinned(cmd, []int{one}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	want := fmt.Sprintf("mask=%d available=%s err=<nil>\nafter=%d\n", one, Format(allowed), one)
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("child pinned to CPU %d said\n%s\nwant it to start with\n%s(its mask unchanged by asking)", one, out.String(), want)
	}
}
