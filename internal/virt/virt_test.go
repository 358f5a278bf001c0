package virt

import (
	"math"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDetect reads the machines of testdata/: each tree holds the files
// Detect reads, as those machines show them.
func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		tree        string
		virtualized bool
		hypervisor  string
		emulated    bool
		steal       float64
		evidence    []string
	}{
		{"bare-metal", false, "", false, 0, []string{"no hypervisor flag in cpuinfo",
			"DMI sys_vendor Dell Inc.", "DMI product_name PowerEdge R640", "clocksources tsc hpet acpi_pm"}},
		{"ec2-metal", false, "", false, 0, []string{"no hypervisor flag in cpuinfo",
			"DMI sys_vendor Amazon EC2", "DMI product_name m5.metal", "clocksources tsc hpet acpi_pm"}},
		{"kvm", true, "KVM", false, 6.0 / 70997, []string{"cpuinfo flag hypervisor",
			"DMI sys_vendor QEMU", "DMI product_name Standard PC (Q35 + ICH9, 2009)", "clocksources kvm-clock tsc acpi_pm"}},
		{"firecracker", true, "KVM", false, 6.0 / 70997, []string{"cpuinfo flag hypervisor",
			"no DMI tables", "clocksources tsc kvm-clock"}},
		{"qemu-tcg", true, "QEMU", true, 0, []string{"cpuinfo flag hypervisor",
			"DMI sys_vendor QEMU", "DMI product_name Standard PC (i440FX + PIIX, 1996)", "clocksources tsc hpet acpi_pm",
			"no kvm-clock clocksource: QEMU without KVM, software emulation (a heuristic)"}},
		{"hyperv", true, "Microsoft Hyper-V", false, 0, []string{"cpuinfo flag hypervisor",
			"DMI sys_vendor Microsoft Corporation", "DMI product_name Virtual Machine", "clocksources hyperv_clocksource_tsc_page acpi_pm"}},
		{"xen", true, "Xen", false, 1210.0 / 1617042, []string{"cpuinfo flag hypervisor",
			"DMI sys_vendor Xen", "DMI product_name HVM domU", "/sys/hypervisor/type xen", "clocksources xen tsc hpet acpi_pm"}},
		{"ec2-steal", true, "Amazon EC2", false, 0.05, []string{"cpuinfo flag hypervisor",
			"DMI sys_vendor Amazon EC2", "DMI product_name t3.medium", "clocksources kvm-clock tsc acpi_pm"}},
		// arm64 has no cpuinfo flag: the DMI tables tell, and it is never
		// taken for emulation.
		{"graviton", true, "Amazon EC2", false, 0, []string{
			"DMI sys_vendor Amazon EC2", "DMI product_name m6g.large", "clocksources arch_sys_counter"}},
	} {
		v := Detect(filepath.Join("testdata", tt.tree))
		if v.Virtualized != tt.virtualized || v.Hypervisor != tt.hypervisor || v.Emulated != tt.emulated {
			t.Errorf("%s: virtualized %v, hypervisor %q, emulated %v; want %v, %q, %v",
				tt.tree, v.Virtualized, v.Hypervisor, v.Emulated, tt.virtualized, tt.hypervisor, tt.emulated)
		}
		if !v.StealOK || math.Abs(v.StealSinceBoot-tt.steal) > 1e-9 || v.OnlineCPUs != 2 {
			t.Errorf("%s: steal since boot %g (read %v) over %d CPUs; want %g over 2", tt.tree, v.StealSinceBoot, v.StealOK, v.OnlineCPUs, tt.steal)
		}
		if !reflect.DeepEqual(v.Evidence, tt.evidence) {
			t.Errorf("%s: evidence\n%q\nwant\n%q", tt.tree, v.Evidence, tt.evidence)
		}
	}
}

// TestDetectNothing: a tree without any of the files (another OS) is
// bare metal with no evidence and no steal.
func TestDetectNothing(t *testing.T) {
	v := Detect(t.TempDir())
	if v.Virtualized || v.Hypervisor != "" || v.Emulated || v.StealOK || v.OnlineCPUs != 0 || len(v.Evidence) != 1 || v.Evidence[0] != "no DMI tables" {
		t.Errorf("empty tree: %+v", v)
	}
}
