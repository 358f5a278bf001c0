// Package virt tells whether the machine is a virtual machine, under
// which hypervisor, whether it is emulated in software, and how much CPU
// time the hypervisor has given other guests (steal), from files Linux
// exposes to any user: /proc/cpuinfo, /proc/stat, the DMI tables under
// /sys/class/dmi/id, /sys/hypervisor/type and the clocksources.
//
// The root is a parameter ("/" for this machine), so tests read fake
// trees. Nothing here is Linux-only code: a tree that has none of these
// files reads as bare metal with no evidence.
package virt

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Info is what Detect found.
type Info struct {
	// Virtualized is true when something shows a hypervisor: the
	// cpuinfo flag, a hypervisor's clocksource, /sys/hypervisor, or DMI
	// tables of a virtual machine.
	Virtualized bool
	// Hypervisor names it where it shows (DMI first, as it is the most
	// specific: "Amazon EC2" rather than "KVM"); "" where it does not.
	Hypervisor string
	// Emulated is QEMU's software emulation (TCG): see Detect.
	Emulated bool
	// StealSinceBoot is /proc/stat's steal over all its CPU time since
	// boot, and StealOK whether it could be read.
	StealSinceBoot float64
	StealOK        bool
	// OnlineCPUs is how many CPUs /proc/stat counts (every online one,
	// whatever this process's affinity): its machine-wide steal is over
	// these.
	OnlineCPUs int
	// Evidence is what was read, in words: "cpuinfo flag hypervisor",
	// "DMI sys_vendor QEMU", "clocksources tsc kvm-clock".
	Evidence []string
}

// Paravirtual clocksources, each only registered by a guest of its
// hypervisor.
var clocksources = map[string]string{
	"kvm-clock":                   "KVM",
	"hyperv_clocksource_tsc_page": "Microsoft Hyper-V",
	"hyperv_clocksource_msr":      "Microsoft Hyper-V",
	"xen":                         "Xen",
}

// dmiVendor names the hypervisor of DMI tables that only a virtual
// machine has, by sys_vendor and product_name; "" for others. QEMU is
// KVM or QEMU's own emulation, which Detect tells apart.
func dmiVendor(vendor, product string) string {
	switch {
	case vendor == "QEMU":
		return "QEMU"
	case vendor == "Amazon EC2" && !strings.HasSuffix(product, ".metal"): // m5.metal is bare metal
		return "Amazon EC2"
	case vendor == "Microsoft Corporation" && product == "Virtual Machine":
		return "Microsoft Hyper-V"
	case strings.HasPrefix(vendor, "VMware"):
		return "VMware"
	case vendor == "Xen":
		return "Xen"
	case vendor == "Google" && product == "Google Compute Engine":
		return "Google Compute Engine"
	case vendor == "innotek GmbH" || product == "VirtualBox":
		return "VirtualBox"
	case strings.HasPrefix(vendor, "Parallels"):
		return "Parallels"
	case vendor == "Bochs":
		return "Bochs"
	case product == "OpenStack Nova":
		return "OpenStack"
	case vendor == "DigitalOcean":
		return "DigitalOcean"
	case vendor == "Alibaba Cloud":
		return "Alibaba Cloud"
	}
	return ""
}

// Detect reads the tree under root ("/" for this machine).
//
// Emulation is a heuristic: an x86 guest (the cpuinfo flag hypervisor)
// whose DMI tables say QEMU but that has no kvm-clock clocksource runs
// under QEMU without KVM, which is QEMU's software emulation (TCG), as
// KVM always offers its guests kvm-clock. It errs where a guest turned
// kvm-clock off (no-kvmclock), and under QEMU on another accelerator
// (macOS's HVF, Windows' WHPX), which offers no kvm-clock either. Other
// architectures have no cpuinfo flag, so are never called emulated.
func Detect(root string) Info {
	var v Info
	flag := false
	if flags, ok := cpuinfoFlags(filepath.Join(root, "proc/cpuinfo")); ok {
		flag = slices.Contains(flags, "hypervisor")
		if flag {
			v.Evidence = append(v.Evidence, "cpuinfo flag hypervisor")
		} else {
			v.Evidence = append(v.Evidence, "no hypervisor flag in cpuinfo")
		}
	}

	dmi := filepath.Join(root, "sys/class/dmi/id")
	vendor, product := readTrim(filepath.Join(dmi, "sys_vendor")), readTrim(filepath.Join(dmi, "product_name"))
	byDMI := dmiVendor(vendor, product)
	switch {
	case vendor != "" || product != "":
		if vendor != "" {
			v.Evidence = append(v.Evidence, "DMI sys_vendor "+vendor)
		}
		if product != "" {
			v.Evidence = append(v.Evidence, "DMI product_name "+product)
		}
	case !exists(dmi):
		v.Evidence = append(v.Evidence, "no DMI tables")
	}

	xen := readTrim(filepath.Join(root, "sys/hypervisor/type"))
	if xen != "" {
		v.Evidence = append(v.Evidence, "/sys/hypervisor/type "+xen)
	}

	available := strings.Fields(readTrim(filepath.Join(root, "sys/devices/system/clocksource/clocksource0/available_clocksource")))
	byClock := ""
	for _, c := range available {
		if h, ok := clocksources[c]; ok && byClock == "" {
			byClock = h
		}
	}
	if len(available) > 0 {
		v.Evidence = append(v.Evidence, "clocksources "+strings.Join(available, " "))
	}

	v.Virtualized = flag || byDMI != "" || xen != "" || byClock != ""
	switch {
	case byDMI == "QEMU" && slices.Contains(available, "kvm-clock"):
		v.Hypervisor = "KVM"
	case byDMI == "QEMU" && flag:
		v.Hypervisor, v.Emulated = "QEMU", true
		v.Evidence = append(v.Evidence, "no kvm-clock clocksource: QEMU without KVM, software emulation (a heuristic)")
	case byDMI != "":
		v.Hypervisor = byDMI
	case xen == "xen":
		v.Hypervisor = "Xen"
	case xen != "":
		v.Hypervisor = xen
	default:
		v.Hypervisor = byClock
	}

	if b, err := os.ReadFile(filepath.Join(root, "proc/stat")); err == nil {
		v.StealSinceBoot, v.OnlineCPUs, v.StealOK = steal(string(b))
	}
	return v
}

// cpuinfoFlags returns the first "flags" line's words (x86 only: other
// architectures call theirs "Features" and have no hypervisor flag).
func cpuinfoFlags(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, val, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "flags" {
			return strings.Fields(val), true
		}
	}
	return nil, false
}

// steal is /proc/stat's steal share of all CPU time since boot, from its
// "cpu" line (user nice system idle iowait irq softirq steal; guest time
// is already in user), and how many CPUs its cpuN lines count.
func steal(stat string) (share float64, cpus int, ok bool) {
	for _, l := range strings.Split(stat, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			if _, err := strconv.Atoi(f[0][len("cpu"):]); err == nil {
				cpus++
			}
			continue
		}
		if len(f) < 9 {
			continue
		}
		var total, st float64
		for i := 1; i <= 8; i++ {
			n, _ := strconv.ParseUint(f[i], 10, 64)
			total += float64(n)
			if i == 8 {
				st = float64(n)
			}
		}
		if total > 0 {
			share, ok = st/total, true
		}
	}
	return share, cpus, ok
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
