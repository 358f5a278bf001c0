package assess

// What the cheapest workload (hello, /) costs per request, measured on
// this project's 2-core EPYC VM and committed in docs/performance.md:
// the fast engine kept up to 151k req/s against nginx on the one CPU it
// kept busy ("Load generator", 1: about 6.5 µs a request), and a Go
// server (singlecore) spends 12.77 µs ("What the harness costs the
// handler"). Dearer workloads cost the server more and the generator
// about the same, so a share that keeps up with hello keeps up with all.
// suite.Place sizes the generator's share from them; the report says so.
const (
	GeneratorMicros = 6.5
	ServerMicros    = 13.0
)

// The generator's share of the CPUs stays within these bounds whatever
// the costs say: under 15% it has too few CPUs to absorb noise, and past
// half the machine measures the generator more than the servers.
const (
	MinLoadgenShare = 0.15
	MaxLoadgenShare = 0.50
)
