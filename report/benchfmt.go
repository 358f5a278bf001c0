package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/corebench/corebench/results"
)

// benchText writes a run in the Go benchmark format, one line per case
// and repeat, so benchstat compares two runs the way Go people compare
// benchmarks:
//
//	benchstat old/bench.txt new/bench.txt
//
// Configuration lines carry only what makes runs comparable (OS, CPU,
// placement): benchstat puts results with different configuration in
// different tables. What differs from run to run by design (commit, Go
// version, date) goes in comment lines, which benchstat skips.
func benchText(run *results.Run) string {
	var b strings.Builder
	e := run.Env
	fmt.Fprintf(&b, "# corebench run %s, profile %s\n", run.ID, orNone(run.Profile))
	if !run.Started.IsZero() {
		fmt.Fprintf(&b, "# started %s\n", run.Started.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if e.GoVersion != "" || e.Commit != "" {
		fmt.Fprintf(&b, "# %s, bench %s %s\n", e.GoVersion, e.Version, e.Commit)
	}
	if !run.Complete {
		b.WriteString("# incomplete: the run was interrupted\n")
	}
	config := func(k, v string) {
		v = strings.Join(strings.Fields(v), " ")
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	config("goos", e.OS)
	config("goarch", e.Arch)
	config("pkg", "github.com/corebench/corebench")
	config("cpu", e.CPUModel)
	if e.CPUs > 0 {
		config("cpus", strconv.Itoa(e.CPUs))
	}
	if len(run.Placement.ServerCPUs) > 0 || len(run.Placement.LoadgenCPUs) > 0 {
		p := fmt.Sprintf("servers=%s loadgen=%s", orDash(cpuList(run.Placement.ServerCPUs)), orDash(cpuList(run.Placement.LoadgenCPUs)))
		if run.Placement.Shared {
			p += " shared"
		}
		config("placement", p)
	}
	config("engine", run.Settings.Engine)
	for i := range run.Cases {
		c := &run.Cases[i]
		name := benchName(c)
		for _, r := range c.Repeats {
			l := r.Load
			if l.Requests <= 0 || l.RPS <= 0 {
				continue
			}
			fmt.Fprintf(&b, "%s %d %s ns/op %s req/s %s p50-ms %s p90-ms %s p99-ms %s p99.9-ms %s max-ms %d errors",
				name, l.Requests, num(1e9/l.RPS), num(l.RPS), num(l.Latency.P50), num(l.Latency.P90),
				num(l.Latency.P99), num(l.Latency.P999), num(l.Latency.Max), l.Errors)
			if r.ServerCPU > 0 {
				fmt.Fprintf(&b, " %s server-cpu-us/req", num(r.ServerCPU*1e6/float64(l.Requests)))
			}
			if r.ServerRSS > 0 {
				fmt.Fprintf(&b, " %s server-rss-MB", num(float64(r.ServerRSS)/(1<<20)))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// benchName is a case as a benchmark name with benchstat's key=value
// sub-benchmark parts, e.g.
// BenchmarkServe/model=prefork-rr/workload=cpu/mode=closed/conns=100/workers=2/keepalive=on.
// It never ends in -<digits>, which benchstat would read as GOMAXPROCS.
func benchName(c *results.Case) string {
	parts := []string{"BenchmarkServe", "model=" + c.Model, "workload=" + c.Workload, "mode=" + string(c.Mode),
		"conns=" + strconv.Itoa(c.Connections)}
	if c.Mode == results.ModeOpen || c.Rate > 0 {
		parts = append(parts, "rate="+num(c.Rate))
	}
	parts = append(parts, "workers="+strconv.Itoa(c.Workers), "keepalive="+onOff(c.KeepAlive))
	for i, p := range parts {
		parts[i] = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return '_'
			}
			return r
		}, p)
	}
	return strings.Join(parts, "/")
}

// num writes a value with six significant digits and no exponent.
func num(x float64) string {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return "0"
	}
	e := int(math.Floor(math.Log10(math.Abs(x))))
	d := max(5-e, 0)
	s := strconv.FormatFloat(x, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
