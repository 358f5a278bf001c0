package stats

import (
	"cmp"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"

	"github.com/corebench/corebench/results"
)

// LatencyOf computes the latency statistics of a histogram.
func LatencyOf(h *results.Histogram) results.Latency {
	if h == nil || h.Count() == 0 {
		return results.Latency{}
	}
	l := results.Latency{
		Min:   results.Ms(h.Min()),
		Mean:  results.Ms(h.Mean()),
		Stdev: results.Ms(h.Stdev()),
		P50:   results.Ms(h.Quantile(0.50)),
		P90:   results.Ms(h.Quantile(0.90)),
		P99:   results.Ms(h.Quantile(0.99)),
		P999:  results.Ms(h.Quantile(0.999)),
		P9999: results.Ms(h.Quantile(0.9999)),
		Max:   results.Ms(h.Max()),
	}
	if h.Bounded() > 0 {
		for _, f := range []struct {
			name string
			q    float64
		}{{"min", 0}, {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p999", 0.999}, {"p9999", 0.9999}} {
			if h.LowerBound(f.q) {
				l.LowerBounds = append(l.LowerBounds, f.name)
			}
		}
		l.LowerBounds = append(l.LowerBounds, "max", "mean")
	}
	return l
}

// StatsOf summarises xs; it does not modify xs. The mean and the
// (population) standard deviation are gonum's.
func StatsOf(xs []float64) results.Stats {
	if len(xs) == 0 {
		return results.Stats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	mean, stdev := stat.PopMeanStdDev(s, nil)
	return results.Stats{Min: s[0], Median: Median(s), Mean: mean, Max: s[len(s)-1], Stdev: stdev, N: len(s)}
}

// Median returns the median of sorted xs.
func Median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	default:
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
}

// Jain returns Jain's fairness index of the counts over n workers: 1 when
// all are equal, 1/n when one of n takes everything. Workers missing from
// counts count as zero; n below len(counts) means len(counts). It is 1 for
// one worker or none.
func Jain(counts map[string]int64, n int) float64 {
	n = max(n, len(counts))
	if n <= 1 {
		return 1
	}
	var sum, sumSq float64
	for _, c := range counts {
		f := float64(c)
		sum += f
		sumSq += f * f
	}
	if sumSq == 0 {
		return 1
	}
	return sum * sum / (float64(n) * sumSq)
}

// SpreadOf returns the median, min and max of xs.
func SpreadOf(xs []float64) results.Spread {
	if len(xs) == 0 {
		return results.Spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return results.Spread{Median: Median(s), Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Summarize computes c.Summary from the repeats that measured something.
func Summarize(c *results.Case) {
	var rps, p50, p90, p99, p999, mx, cpu, rss, cores []float64
	sum := &results.CaseSummary{PerWorker: map[string]int64{}, Histogram: &results.Histogram{}}
	for _, r := range c.Repeats {
		l := r.Load
		if l.Requests == 0 && l.Errors == 0 {
			continue
		}
		rps = append(rps, l.RPS)
		p50, p90, p99 = append(p50, l.Latency.P50), append(p90, l.Latency.P90), append(p99, l.Latency.P99)
		p999, mx = append(p999, l.Latency.P999), append(mx, l.Latency.Max)
		if l.Requests > 0 && r.ServerCPU > 0 {
			cpu = append(cpu, r.ServerCPU*1e6/float64(l.Requests))
		}
		if r.ServerRSS > 0 {
			rss = append(rss, float64(r.ServerRSS)/(1<<20))
		}
		cores = append(cores, l.LoadgenCores)
		sum.Workers = max(sum.Workers, l.Workers)
		sum.Requests += l.Requests
		sum.Errors += l.Errors
		sum.Unsent += l.Unsent
		sum.Late += l.Late.Count
		sum.Saturated = sum.Saturated || l.Saturated
		for k, v := range l.PerWorker {
			sum.PerWorker[k] += v
		}
		for _, b := range l.Latency.LowerBounds {
			if !slices.Contains(sum.LowerBounds, b) {
				sum.LowerBounds = append(sum.LowerBounds, b)
			}
		}
		sum.Histogram.Merge(l.Histogram)
	}
	if len(rps) == 0 {
		c.Summary = nil
		return
	}
	sum.RPS, sum.P50, sum.P90, sum.P99 = SpreadOf(rps), SpreadOf(p50), SpreadOf(p90), SpreadOf(p99)
	sum.P999, sum.Max = SpreadOf(p999), SpreadOf(mx)
	sum.ServerCPUPerReq, sum.ServerRSSMB = SpreadOf(cpu), SpreadOf(rss)
	sum.LoadgenCores = SpreadOf(cores)
	c.Summary = sum
	SummarizeCores(c)
	sum.Fairness = Jain(sum.PerWorker, sum.Workers)
	if sum.Requests > 0 {
		sum.FailedShare = float64(sum.Errors) / float64(sum.Requests)
	}
}

// SummarizeCores sets the summary's CPU seconds per second of wall time
// from the repeats that measured something.
func SummarizeCores(c *results.Case) {
	var server, master, other, steal []float64
	for _, r := range c.Repeats {
		l := r.Load
		wall := cmp.Or(r.WallS, l.DurationS)
		if l.Requests == 0 && l.Errors == 0 || wall <= 0 {
			continue
		}
		if r.ServerUnmeasured == "" {
			server = append(server, r.ServerCPU/wall)
		}
		for _, f := range []struct {
			v  *float64
			to *[]float64
		}{{r.MasterCPU, &master}, {r.OtherCPU, &other}, {r.StealCPU, &steal}} {
			if f.v != nil {
				*f.to = append(*f.to, *f.v/wall)
			}
		}
	}
	s := c.Summary
	s.ServerCores, s.MasterCores = SpreadOf(server), SpreadOf(master)
	s.OtherCores, s.StealCores = SpreadOf(other), SpreadOf(steal)
}

// RunSteal is the share of cpus CPUs' time lost to steal over the cases'
// repeats that measured it (Repeat.StealCPU over WallS); nil where none
// did: results.Virtualization.Steal.
func RunSteal(cases []results.Case, cpus int) *float64 {
	if cpus <= 0 {
		return nil
	}
	steal, wall := 0.0, 0.0
	for _, c := range cases {
		for _, r := range c.Repeats {
			if r.StealCPU != nil && r.WallS > 0 {
				steal, wall = steal+*r.StealCPU, wall+r.WallS
			}
		}
	}
	if wall == 0 {
		return nil
	}
	share := steal / (wall * float64(cpus))
	return &share
}
