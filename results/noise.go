package results

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
}
