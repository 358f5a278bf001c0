package suite

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/results"
)

// MachineNoise reads the CPU frequency governor and turbo or boost from a
// tree laid out like /sys under sysfs ("/sys" for this machine; a fake
// tree in tests). What the tree lacks is results.NotExposed: a VM without
// cpufreq has no governor to report. SMT control is the topology's
// (results.Topology.SMT), read once with it.
func MachineNoise(sysfs string) results.Noise {
	cpu := filepath.Join(sysfs, "devices", "system", "cpu")
	return results.Noise{Governor: governor(cpu), Boost: boost(cpu)}
}

// governor is every CPU's scaling governor: one word when all agree,
// else each with its CPUs.
func governor(cpu string) string {
	files, _ := filepath.Glob(filepath.Join(cpu, "cpu[0-9]*", "cpufreq", "scaling_governor"))
	byGov := map[string][]int{}
	for _, f := range files {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(filepath.Dir(f))), "cpu"))
		if g := readTrim(f); err == nil && g != "" {
			byGov[g] = append(byGov[g], n)
		}
	}
	switch len(byGov) {
	case 0:
		return results.NotExposed
	case 1:
		for g := range byGov {
			return g
		}
	}
	govs := make([]string, 0, len(byGov))
	for g := range byGov {
		sort.Ints(byGov[g])
		govs = append(govs, g)
	}
	// In CPU order, so the same machine reads the same every run.
	sort.Slice(govs, func(i, j int) bool { return byGov[govs[i]][0] < byGov[govs[j]][0] })
	for i, g := range govs {
		govs[i] = g + " (" + affinity.Format(byGov[g]) + ")"
	}
	return strings.Join(govs, ", ")
}

// boost reads intel_pstate's no_turbo, else cpufreq's boost (AMD and
// acpi-cpufreq), as "on" or "off".
func boost(cpu string) string {
	switch readTrim(filepath.Join(cpu, "intel_pstate", "no_turbo")) {
	case "1":
		return "off"
	case "0":
		return "on"
	}
	switch readTrim(filepath.Join(cpu, "cpufreq", "boost")) {
	case "1":
		return "on"
	case "0":
		return "off"
	}
	return results.NotExposed
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
