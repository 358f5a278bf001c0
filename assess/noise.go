package assess

import (
	"fmt"
	"math"

	"github.com/corebench/corebench/results"
)

// The thresholds of NoiseWarnings.
const (
	// OtherCoresWarn is how much CPU other processes (or the hypervisor,
	// as steal) may take during a case before it is a warning: 5% of one
	// CPU, about what a busy shell, an editor or a cron job takes; more
	// competes with the server for its cores.
	OtherCoresWarn = 0.05
	// TickError scales the least CPU time that warns: /proc/stat samples
	// each CPU 100 times a second, so over T CPU-seconds its busy time is
	// off by up to about TickError·√T seconds (twice the binomial σ of
	// 100 samples a second), while process times are exact. Less than
	// that is the sampling, not another process.
	TickError = 0.1
)

// NoiseWarnings says what noise a case met on a machine of cpus CPUs: a
// governor other than performance, or other processes (or steal) taking
// more than OtherCoresWarn of a CPU, and more than the tick sampling can
// explain (TickError), in some repeat.
func NoiseWarnings(n results.Noise, cpus int, c *results.Case) []string {
	var out []string
	if n.Governor != "" && n.Governor != results.NotExposed && n.Governor != "performance" {
		out = append(out, fmt.Sprintf("CPU frequency governor %s, not performance: clock speeds vary with load", n.Governor))
	}
	other, steal := 0.0, 0.0
	for _, r := range c.Repeats {
		other = max(other, overWarn(r.OtherCPU, r.WallS, cpus))
		steal = max(steal, overWarn(r.StealCPU, r.WallS, cpus))
	}
	if other > 0 {
		out = append(out, fmt.Sprintf("other processes took up to %.2f of a CPU (over %g)", other, OtherCoresWarn))
	}
	if steal > 0 {
		out = append(out, fmt.Sprintf("the hypervisor took up to %.2f of a CPU as steal time (over %g)", steal, OtherCoresWarn))
	}
	return out
}

// overWarn is cpu seconds over wall seconds when that crosses both
// thresholds, else 0.
func overWarn(cpu *float64, wall float64, cpus int) float64 {
	if cpu == nil || wall <= 0 || *cpu/wall <= OtherCoresWarn || *cpu <= TickError*math.Sqrt(float64(max(cpus, 1))*wall) {
		return 0
	}
	return *cpu / wall
}

// StealWarn is the share of CPU time lost to steal over which a report
// says its figures are not performance figures: 1%. A guest with CPUs of
// its own (dedicated vCPUs, a microVM on an idle host) loses well under
// 0.1% to the host's housekeeping; 1% means the host runs other guests on
// these CPUs, so the figures depend on neighbours' load that no rerun
// controls, and steal comes from the hypervisor's steal clock, not from
// sampling, so 1% is no rounding error.
const StealWarn = 0.01

// Disturbed reports whether other processes or the hypervisor took CPU
// during some repeat of c, past the thresholds of NoiseWarnings: noise
// that comes and goes, unlike a governor, which every case meets alike.
func Disturbed(c *results.Case, cpus int) bool {
	for _, r := range c.Repeats {
		if overWarn(r.OtherCPU, r.WallS, cpus) > 0 || overWarn(r.StealCPU, r.WallS, cpus) > 0 {
			return true
		}
	}
	return false
}
