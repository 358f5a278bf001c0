package stats

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/corebench/corebench/results"
)

// Part is one generator's summary of a load sent from several, and where
// it ran.
type Part struct {
	Host string
	// ClockOffsetMs is the host's clock less the merger's; nil when
	// unknown. Start times are corrected by it before they are compared.
	ClockOffsetMs *float64
	ClockRTTMs    float64
	Summary       *results.Summary
}

// Merge sums the parts into the summary of the whole load, losslessly:
// counts add up, the histograms are merged and the percentiles computed
// from the merged one, never estimated from the parts' percentiles. The
// whole load is measured from the earliest part's start to the latest
// part's end of attack (starts corrected by the clock offsets; the wait
// for the last answers after it is WaitS, apart), and LoadHosts
// lists each part with how late it started.
//
// The time series are summed slice by slice, each part's slices placed by
// its start to the nearest slice; a merged slice's p50 and p99 are the
// highest of the parts' (slice percentiles keep no histogram), its max
// exact. Generator CPU adds up; the machine's per-CPU busy shares, which
// belong to each host, are left out.
func Merge(parts []Part) (*results.Summary, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	starts := make([]time.Time, len(parts))
	first, end, waitEnd := time.Time{}, time.Time{}, time.Time{}
	for i, p := range parts {
		if p.Summary == nil {
			return nil, fmt.Errorf("%s: no summary", p.Host)
		}
		st := p.Summary.Start
		if p.ClockOffsetMs != nil {
			st = st.Add(-time.Duration(*p.ClockOffsetMs * 1e6))
		}
		starts[i] = st
		e := st.Add(time.Duration(p.Summary.DurationS * 1e9))
		if i == 0 || st.Before(first) {
			first = st
		}
		if i == 0 || e.After(end) {
			end = e
		}
		if w := e.Add(time.Duration(p.Summary.WaitS * 1e9)); w.After(waitEnd) {
			waitEnd = w
		}
	}
	p0 := parts[0].Summary
	m := &results.Summary{
		Engine: p0.Engine, Target: p0.Target, Method: p0.Method, Mode: p0.Mode, Rate: p0.Rate,
		KeepAlive: p0.KeepAlive, Pipeline: p0.Pipeline, Start: first.Round(0), StartAt: p0.StartAt,
		ErrorKinds: map[string]int64{}, StatusCodes: map[string]int64{}, PerWorker: map[string]int64{},
		Histogram: &results.Histogram{},
	}
	if len(parts) > 1 {
		m.DurationS = end.Sub(first).Seconds()
	} else {
		m.DurationS = p0.DurationS
	}
	var why []string
	var lateSum, attackBytes float64
	for i, p := range parts {
		s := p.Summary
		if s.Engine != m.Engine {
			m.Engine = "merged"
		}
		if s.Target != m.Target {
			m.Target = "several targets"
		}
		switch { // results files do not say their loop
		case m.Mode == "":
			m.Mode, m.Rate = s.Mode, s.Rate
		case s.Mode != "" && s.Mode != m.Mode:
			return nil, fmt.Errorf("%s: a %s loop, %s: a %s loop: merge parts of one load", parts[0].Host, m.Mode, p.Host, s.Mode)
		}
		if s.StartAt == nil || m.StartAt == nil || !s.StartAt.Equal(*m.StartAt) {
			m.StartAt = nil
		}
		m.Interrupted = m.Interrupted || s.Interrupted
		m.Connections += s.Connections
		m.ConnectionsOpened += s.ConnectionsOpened
		m.Requests += s.Requests
		m.Errors += s.Errors
		m.WaitRequests += s.WaitRequests
		m.WaitErrors += s.WaitErrors
		attackBytes += s.BytesInPS * s.DurationS // what it read within its attack
		m.Unsent += s.Unsent
		m.BytesIn += s.BytesIn
		m.BytesOut += s.BytesOut
		addCounts(m.ErrorKinds, s.ErrorKinds)
		addCounts(m.StatusCodes, s.StatusCodes)
		addCounts(m.PerWorker, s.PerWorker)
		for k, v := range s.ErrorExamples {
			if m.ErrorExamples == nil {
				m.ErrorExamples = map[string]string{}
			}
			if _, ok := m.ErrorExamples[k]; !ok {
				m.ErrorExamples[k] = v
			}
		}
		if s.Histogram != nil {
			m.Histogram.Merge(s.Histogram)
		} else if s.Requests > 0 {
			return nil, fmt.Errorf("%s: the summary has no latency histogram to merge (bench attack --json writes one)", p.Host)
		}
		m.Workers = max(m.Workers, s.Workers)
		m.Late.Count += s.Late.Count
		m.Late.ConnBusy += s.Late.ConnBusy
		m.Late.MaxMs = math.Max(m.Late.MaxMs, s.Late.MaxMs)
		m.Late.Threshold = math.Max(m.Late.Threshold, s.Late.Threshold)
		lateSum += s.Late.MeanMs * float64(s.Late.Count)
		m.LoadgenCPU += s.LoadgenCPU
		m.LoadgenCores += s.LoadgenCores
		m.CoresAllowed += s.CoresAllowed
		if s.Saturated {
			why = append(why, p.Host+": "+s.SaturatedWhy)
		}
		h := results.LoadHost{
			Host: p.Host, Segment: s.Segment, Requests: s.Requests, Errors: s.Errors, Unsent: s.Unsent, RPS: s.RPS,
			Connections: s.Connections, P50: s.Latency.P50, P99: s.Latency.P99, Start: starts[i].Round(0), DurationS: s.DurationS,
			ClockOffsetMs: p.ClockOffsetMs, ClockRTTMs: p.ClockRTTMs, StartSkewMs: results.Ms(starts[i].Sub(first)),
			LoadgenCPU: s.LoadgenCPU, Saturated: s.Saturated,
		}
		m.LoadHosts = append(m.LoadHosts, h)
	}
	// The rates are of what completed within the parts' attacks, as each
	// part's are; what ended in the wait after them is counted apart.
	if waitEnd.After(end) {
		m.WaitS = waitEnd.Sub(end).Seconds()
	}
	if m.DurationS > 0 {
		m.RPS = float64(m.Requests-m.Errors-(m.WaitRequests-m.WaitErrors)) / m.DurationS
		m.RPSAll = float64(m.Requests-m.WaitRequests) / m.DurationS
		m.BytesInPS = attackBytes / m.DurationS
	}
	m.Latency = LatencyOf(m.Histogram)
	m.Fairness = Jain(m.PerWorker, m.Workers)
	if m.Requests > 0 {
		m.Late.Share = float64(m.Late.Count) / float64(m.Requests)
	}
	if m.Late.Count > 0 {
		m.Late.MeanMs = lateSum / float64(m.Late.Count)
	}
	m.Saturated, m.SaturatedWhy = len(why) > 0, strings.Join(why, "; ")
	m.TimeSeries = mergeSeries(parts, starts, first)
	if len(m.TimeSeries) > 0 {
		iv := seriesInterval(parts)
		m.PerSecond, m.BytesPerSec = PerSecond(m.TimeSeries, iv, time.Duration(m.DurationS*1e9))
	}
	return m, nil
}

func addCounts(dst, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// seriesInterval is the width of the parts' time-series slices, from
// the first part with two of them; 100 ms without.
func seriesInterval(parts []Part) time.Duration {
	for _, p := range parts {
		if ts := p.Summary.TimeSeries; len(ts) > 1 {
			if iv := time.Duration(math.Round((ts[1].T - ts[0].T) * 1e9)); iv > 0 {
				return iv
			}
		}
	}
	return 100 * time.Millisecond
}

func mergeSeries(parts []Part, starts []time.Time, first time.Time) []results.Sample {
	iv := seriesInterval(parts)
	var out []results.Sample
	for i, p := range parts {
		shift := int(math.Round(float64(starts[i].Sub(first)) / float64(iv)))
		for j, x := range p.Summary.TimeSeries {
			k := shift + j
			for len(out) <= k {
				out = append(out, results.Sample{T: float64(len(out)) * iv.Seconds()})
			}
			o := &out[k]
			o.Requests += x.Requests
			o.Errors += x.Errors
			o.BytesIn += x.BytesIn
			o.RPS += x.RPS
			o.P50, o.P99, o.Max = math.Max(o.P50, x.P50), math.Max(o.P99, x.P99), math.Max(o.Max, x.Max)
		}
	}
	return out
}

// PerSecond sums a time series' successful responses and body bytes into
// seconds of measurement, as autocannon samples them, and summarises
// them. The duration is cut into round(dur / 1 s) samples, at least one,
// the last one taking the remainder (from half a second to a second and a
// half), and each sample's count is divided by its own width: every
// request is in a sample and every sample is a true rate, whether the
// run lasted the 2 s it was asked for or, merged from files, 1.998 s.
func PerSecond(series []results.Sample, interval, dur time.Duration) (reqs, bytes results.Stats) {
	sec := time.Second
	n := max((dur+sec/2)/sec, 1)
	r := make([]float64, n)
	b := make([]float64, n)
	for i, s := range series {
		k := min(time.Duration(i)*interval/sec, n-1)
		r[k] += float64(s.Requests - s.Errors)
		b[k] += float64(s.BytesIn)
	}
	for k := range n {
		w := sec
		if k == n-1 {
			w = dur - (n-1)*sec
		}
		if w <= 0 {
			return results.Stats{}, results.Stats{}
		}
		r[k] /= w.Seconds()
		b[k] /= w.Seconds()
	}
	return StatsOf(r), StatsOf(b)
}
