package results

// Virtualization says whether the machine that ran is a virtual machine:
// a VM measures its host and neighbours as much as the servers. Env has
// it on Linux runs since it was recorded; nil in older runs and
// elsewhere.
type Virtualization struct {
	// Virtualized is true when something showed a hypervisor: the
	// cpuinfo flag, a hypervisor's clocksource, /sys/hypervisor, or DMI
	// tables of a virtual machine.
	Virtualized bool `json:"virtualized"`
	// Hypervisor names it where it shows ("KVM", "QEMU", "Xen",
	// "Microsoft Hyper-V", "VMware", "Amazon EC2", ...); "" where not.
	Hypervisor string `json:"hypervisor,omitempty"`
	// Emulated is software emulation (QEMU without KVM, TCG): a heuristic,
	// an x86 guest of QEMU without the kvm-clock clocksource KVM always
	// offers. Its figures measure the emulator.
	Emulated bool `json:"emulated,omitempty"`
	// Steal is the share of the machine's CPU time the hypervisor gave
	// other guests during the run's repeats: their steal seconds over
	// their wall time times OnlineCPUs (see stats.RunSteal). nil where no
	// repeat measured it (a server on another host). Set by the suite as
	// it measures.
	Steal *float64 `json:"steal,omitempty"`
	// StealSinceBoot is the same share since the machine booted, read
	// once at the start from /proc/stat: a hint of how busy the host is,
	// not a measure of this run.
	StealSinceBoot *float64 `json:"steal_since_boot,omitempty"`
	// OnlineCPUs is how many CPUs /proc/stat's machine-wide steal sums
	// over: every online one, whatever CPUs the run used.
	OnlineCPUs int `json:"online_cpus,omitempty"`
	// Evidence is what was read, in words ("cpuinfo flag hypervisor",
	// "DMI sys_vendor QEMU", "clocksources tsc kvm-clock").
	Evidence []string `json:"evidence,omitempty"`
}

// StealShare is the steal share that counts for the run: during its
// repeats where they measured it, else since boot (sinceBoot); ok is
// false where neither was read.
func (v *Virtualization) StealShare() (share float64, sinceBoot, ok bool) {
	switch {
	case v == nil:
		return 0, false, false
	case v.Steal != nil:
		return *v.Steal, false, true
	case v.StealSinceBoot != nil:
		return *v.StealSinceBoot, true, true
	}
	return 0, false, false
}
