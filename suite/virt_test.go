package suite

import (
	"runtime"
	"testing"
)

// TestVirtualizationOf: the record is what virt.Detect read of a tree
// (the QEMU TCG guest of internal/virt/testdata), and nil off Linux.
func TestVirtualizationOf(t *testing.T) {
	v := VirtualizationOf("../internal/virt/testdata/qemu-tcg")
	if runtime.GOOS != "linux" {
		if v != nil {
			t.Errorf("off Linux: %+v, want none", v)
		}
		return
	}
	if v == nil || !v.Virtualized || v.Hypervisor != "QEMU" || !v.Emulated || v.OnlineCPUs != 2 ||
		v.StealSinceBoot == nil || *v.StealSinceBoot != 0 || v.Steal != nil || len(v.Evidence) != 5 {
		t.Errorf("QEMU TCG guest: %+v", v)
	}
	if v := VirtualizationOf("../internal/virt/testdata/bare-metal"); v == nil || v.Virtualized || v.Hypervisor != "" || v.Emulated {
		t.Errorf("bare metal: %+v", v)
	}
}
