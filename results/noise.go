package results

import "fmt"

// NotExposed is what a machine setting reads when the machine does not
// expose it (a VM without cpufreq): unknown, not guessed.
const NotExposed = "not exposed"

// Noise is the machine's settings that move figures from run to run on
// a big box: frequency scaling, turbo and SMT. Each is the kernel's own
// word, NotExposed, or "" in results written before they were recorded.
type Noise struct {
	// Governor is the cpufreq scaling governor, "performance" when every
	// CPU has it, else each governor with its CPUs ("powersave (0-3),
	// performance (4-7)").
	Governor string `json:"governor"`
	// Boost is turbo or boost: "on" or "off".
	Boost string `json:"boost"`
	// SMT is the kernel's SMT control: "on", "off", "forceoff",
	// "notsupported" or "notimplemented".
	SMT string `json:"smt"`
}

// The thresholds of NoiseWarnings.
const (
	// OtherCoresWarn is how much CPU other processes (or the hypervisor,
	// as steal) may take during a case before it is a warning: 5% of one
	// CPU, about what a busy shell, an editor or a cron job takes; more
	// competes with the server for its cores.
	OtherCoresWarn = 0.05
	// OtherCPUMin is the CPU-seconds other processes must also have taken:
	// 5 clock ticks of /proc/stat, so that its 10 ms resolution alone
	// never warns on a short repeat.
	OtherCPUMin = 0.05
)

// NoiseWarnings says what noise a case met: a governor other than
// performance, or other processes (or steal) taking more than
// OtherCoresWarn of a CPU, and OtherCPUMin CPU-seconds, in some repeat.
func NoiseWarnings(n Noise, c *Case) []string {
	var out []string
	if n.Governor != "" && n.Governor != NotExposed && n.Governor != "performance" {
		out = append(out, fmt.Sprintf("CPU frequency governor %s, not performance: clock speeds vary with load", n.Governor))
	}
	other, steal := 0.0, 0.0
	for _, r := range c.Repeats {
		other = max(other, overWarn(r.OtherCPU, r.WallS))
		steal = max(steal, overWarn(r.StealCPU, r.WallS))
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
func overWarn(cpu *float64, wall float64) float64 {
	if cpu == nil || wall <= 0 || *cpu < OtherCPUMin || *cpu/wall <= OtherCoresWarn {
		return 0
	}
	return *cpu / wall
}
