package suite

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/results"
)

// Environment describes this machine for the results.
func Environment(version, commit, commandLine string) results.Env {
	host, _ := os.Hostname()
	return results.Env{
		Host: host, OS: runtime.GOOS, Arch: runtime.GOARCH, Kernel: kernel(),
		CPUModel: cpuModel(), CPUs: runtime.NumCPU(), MemoryMB: memTotalKB() / 1024,
		GoVersion: runtime.Version(), Version: version, Commit: commit, CommandLine: commandLine,
	}
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name", "unknown")
}

func memTotalKB() int64 {
	v, _ := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal", "0 kB"))[0], 10, 64)
	return v
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key, def string) string {
	f, err := os.Open(path)
	if err != nil {
		return def
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return def
}

// Place decides which CPUs the servers and the load generator use. Given
// neither, on 4 or more CPUs the generator gets its own quarter (at least
// one CPU, the highest-numbered) and the servers the rest; on fewer they
// share every CPU, and the note says what that means for the figures.
func Place(allowed, server, loadgen []int) results.Placement {
	minus := func(a, b []int) []int {
		var out []int
		for _, c := range a {
			if !slices.Contains(b, c) {
				out = append(out, c)
			}
		}
		return out
	}
	switch {
	case len(server) > 0 && len(loadgen) > 0:
	case len(server) > 0:
		if loadgen = minus(allowed, server); len(loadgen) == 0 {
			loadgen = allowed
		}
	case len(loadgen) > 0:
		if server = minus(allowed, loadgen); len(server) == 0 {
			server = allowed
		}
	case len(allowed) >= 4:
		n := max(1, len(allowed)/4)
		server, loadgen = allowed[:len(allowed)-n], allowed[len(allowed)-n:]
	default:
		server, loadgen = allowed, allowed
	}
	p := results.Placement{ServerCPUs: server, LoadgenCPUs: loadgen}
	for _, c := range server {
		if slices.Contains(loadgen, c) {
			p.Shared = true
		}
	}
	if p.Shared {
		p.Note = "servers and the load generator share CPUs " + affinity.Format(allowed) +
			": the generator's work takes CPU from the servers, so compare ratios between models, not absolute figures across machines"
		if len(allowed) < 4 {
			p.Note += " (with fewer than 4 CPUs there is none to spare for the generator)"
		}
	} else {
		p.Note = "servers on CPUs " + affinity.Format(server) + ", load generator on CPUs " + affinity.Format(loadgen)
	}
	return p
}
