package vmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQemuArgs: the shape becomes -smp and, with nodes, a memory backend
// and a CPU range per node that add up to the machine.
func TestQemuArgs(t *testing.T) {
	o := Options{Shape: Shape{Sockets: 2, Cores: 4, Threads: 2, Nodes: 2, MemoryMB: 2049}, Dir: "/w"}
	args := strings.Join(qemuArgs(&Host{Kernel: "/k"}, o, "/i", "tcg"), " ")
	for _, want := range []string{
		"-smp 16,sockets=2,cores=4,threads=2", "-m 2048M",
		"memory-backend-ram,id=m0,size=1024M", "node,nodeid=0,cpus=0-7,memdev=m0",
		"memory-backend-ram,id=m1,size=1024M", "node,nodeid=1,cpus=8-15,memdev=m1",
		"-accel tcg,thread=multi -cpu Skylake-Server-v1", "-kernel /k -initrd /i",
		"local,path=/w,mount_tag=work",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu args lack %q:\n%s", want, args)
		}
	}
	if args := strings.Join(qemuArgs(&Host{}, Options{Shape: Shape{Sockets: 1, Cores: 4, Threads: 1, MemoryMB: 512}}, "", "kvm"), " "); strings.Contains(args, "-numa") || !strings.Contains(args, "-accel kvm -cpu host") {
		t.Errorf("one node under KVM: %s", args)
	}
}

// TestModuleOrder reads the kernel tools/vm/kernel.sh unpacked, where it
// is: each module the share needs after what it depends on.
func TestModuleOrder(t *testing.T) {
	mods, _ := filepath.Glob(filepath.Join(KernelDir(), "lib", "modules", "*"))
	if len(mods) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("no kernel in %s (.ci/run runs tools/vm/kernel.sh)", KernelDir())
		}
		t.Skipf("no kernel in %s: tools/vm/kernel.sh unpacks Debian's", KernelDir())
	}
	order, err := moduleOrder(mods[0], guestModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range order {
		pos[strings.TrimSuffix(filepath.Base(m), ".ko")] = i
	}
	for _, before := range [][2]string{{"virtio", "virtio_pci"}, {"9pnet", "9pnet_virtio"}, {"netfs", "9p"}, {"9pnet", "9p"}} {
		a, okA := pos[before[0]]
		b, okB := pos[before[1]]
		if !okA || !okB || a > b {
			t.Errorf("%s must load before %s: order %v", before[0], before[1], order)
		}
	}
	if _, err := moduleOrder(mods[0], []string{"no_such_module"}); err == nil {
		t.Error("a missing module is no error")
	}
}
