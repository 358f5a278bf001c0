package report

import (
	"fmt"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// virtualizationText is the environment's Virtualization row: whether
// the machine is virtual, under what, the steal it met and what showed
// it; "" for runs from before it was recorded.
func virtualizationText(v *results.Virtualization) string {
	if v == nil {
		return ""
	}
	var t string
	switch {
	case v.Emulated:
		t = fmt.Sprintf("**emulated** (%s without KVM: software emulation, a heuristic)", orUnknown(v.Hypervisor))
	case v.Virtualized && v.Hypervisor != "":
		t = fmt.Sprintf("virtualized (%s)", v.Hypervisor)
	case v.Virtualized:
		t = "virtualized (hypervisor not named)"
	default:
		t = "none seen"
	}
	if share, sinceBoot, ok := v.StealShare(); ok && v.Virtualized {
		when := "during the repeats"
		if sinceBoot {
			when = "since boot (not measured during the repeats)"
		}
		t += fmt.Sprintf("; steal %s of CPU time %s", numfmt.Sig(100*share)+"%", when)
	}
	if len(v.Evidence) > 0 {
		t += "; from " + strings.Join(v.Evidence, ", ")
	}
	return t
}

// virtualizationWarning says the figures are not performance figures
// when the machine is emulated or lost more than assess.StealWarn of its
// CPU time to steal; "" otherwise, a plain virtual machine included.
func virtualizationWarning(v *results.Virtualization) string {
	if v == nil {
		return ""
	}
	var why []string
	if v.Emulated {
		why = append(why, fmt.Sprintf("the machine is emulated (%s without KVM), so they measure the emulator", orUnknown(v.Hypervisor)))
	}
	if share, sinceBoot, ok := v.StealShare(); ok && share > assess.StealWarn {
		when := "during the repeats"
		if sinceBoot {
			when = "since boot"
		}
		why = append(why, fmt.Sprintf("the virtual machine lost %s of its CPU time to other guests (steal) %s, so they depend on its neighbours' load",
			numfmt.Sig(100*share)+"%", when))
	}
	if len(why) == 0 {
		return ""
	}
	return "**Not performance figures:** " + strings.Join(why, ", and ") +
		". Compare nothing from this run against other machines."
}
