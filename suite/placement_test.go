package suite

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
)

const qemu16 = "../internal/topology/testdata/qemu-16cpu-2socket"

// On a --sysfs tree, Locate is Place on that tree, and a list naming a
// CPU the tree lacks is a usage error.
func TestLocateSysfs(t *testing.T) {
	place, topo, err := Locate(Where{Sysfs: qemu16})
	if err != nil {
		t.Fatal(err)
	}
	if want := Place(topo, nil, nil); !slices.Equal(place.ServerCPUs, want.ServerCPUs) ||
		!slices.Equal(place.LoadgenCPUs, want.LoadgenCPUs) || place.Note != want.Note {
		t.Errorf("Locate = %+v, Place = %+v", place, want)
	}
	if len(place.LoadgenCPUs) == 0 || place.Shared {
		t.Errorf("16 CPUs: want the generator on cores of its own, got %+v", place)
	}
	_, _, err = Locate(Where{Sysfs: qemu16, ServerCPUs: []int{0, 16}})
	if ue := (UsageError{}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--server-cpus: CPU 16 is not on the machine") {
		t.Errorf("CPU 16 of a 16-CPU tree: err = %v, want a UsageError naming it", err)
	}
}

// A host named but not contacted plans with this machine's CPUs, says so,
// and leaves that host's list to be checked by the host.
func TestLocateUnreached(t *testing.T) {
	place, _, err := Locate(Where{Sysfs: qemu16, ServerCPUs: []int{99}, ServerHost: &Host{Name: "big"}})
	if err != nil {
		t.Fatalf("a list for an unreached host was checked here: %v", err)
	}
	if !strings.HasSuffix(place.Note, "--dry-run contacts no host: this plans with this machine's CPUs, not theirs") {
		t.Errorf("note %q does not say the plan is this machine's", place.Note)
	}
	if slices.Contains(place.ServerCPUs, 99) {
		t.Errorf("servers on %v: the remote list was applied here", place.ServerCPUs)
	}
}

// With hosts that answered, each side takes its host's CPUs: all of them
// unless listed, a list checked against that host's, and nothing shared.
func TestLocateHosts(t *testing.T) {
	here, err := affinity.Allowed()
	if err != nil {
		t.Skip(err)
	}
	big := Host{Name: "big", CPUs: []int{4, 5, 6, 7}} // a cpuset that does not start at 0

	place, _, err := Locate(Where{ServerHost: &big})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(place.ServerCPUs, big.CPUs) || !slices.Equal(place.LoadgenCPUs, here) || place.Shared {
		t.Errorf("server host: got servers %v, generator %v, shared %v; want %v, this machine's %v, not shared",
			place.ServerCPUs, place.LoadgenCPUs, place.Shared, big.CPUs, here)
	}
	if want := "servers on big (CPUs 4-7); load from this machine"; !strings.HasPrefix(place.Note, want) {
		t.Errorf("note %q, want it to start %q", place.Note, want)
	}

	place, _, err = Locate(Where{ServerHost: &big, ServerCPUs: []int{6, 7}})
	if err != nil || !slices.Equal(place.ServerCPUs, []int{6, 7}) {
		t.Errorf("--server-cpus 6,7 on big: %v, %v", place.ServerCPUs, err)
	}
	_, _, err = Locate(Where{ServerHost: &big, ServerCPUs: []int{0, 1}})
	if ue := (UsageError{}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--server-cpus on big") {
		t.Errorf("--server-cpus 0,1 on a host with 4-7: err = %v, want a UsageError naming the host", err)
	}

	loaders := []Host{{Name: "l1", CPUs: []int{0, 1}}, {Name: "l2", CPUs: []int{0, 1, 2, 3}}}
	place, _, err = Locate(Where{LoadHosts: loaders})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(place.ServerCPUs, here) || place.LoadgenCPUs != nil || place.Note != "servers on this machine (CPUs "+affinity.Format(here)+"); load from l1, l2 (CPUs all there)" {
		t.Errorf("load hosts: got %+v", place)
	}
	_, _, err = Locate(Where{LoadHosts: loaders, LoadgenCPUs: []int{2, 3}})
	if err == nil || !strings.Contains(err.Error(), "--loadgen-cpus on l1") {
		t.Errorf("--loadgen-cpus 2,3 with l1 having 0-1: err = %v", err)
	}
}
