package loadgen

import (
	"math"
	"strconv"
	"time"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// aggregator folds records into totals, the latency histogram and the
// time series. Records carry times relative to the start of measurement.
// A record belongs to the slice in which it completed; slices stay open
// until the caller finalizes them, so records that arrive a little late
// (a goroutine preempted between its clock read and its append, results
// of several files merged) still land in the right slice. A record for a
// slice already final still counts everywhere but in that slice's
// percentiles.
//
// With an end of the attack, a record that completed after it belongs to
// the wait: it counts in the totals and the latencies, and in the wait's
// own counts, but in no slice and in no rate, which are the attack's.
//
// An aggregator is used by one goroutine.
type aggregator struct {
	interval      int64 // ns width of a slice
	open          bool  // open loop: lateness counts
	lateThreshold int64
	attackEnd     int64 // ns: records completing later are the wait's; -1 for no end
	lastIdx       int64 // the slice attackEnd falls in; -1 for no end

	requests, errors  int64
	unsent            int64
	bytesIn, bytesOut int64
	kinds             [numKinds]int64
	status            [600]int64
	workers           []int64 // by slot, for slots below maxDenseWorker
	workersSparse     map[int32]int64
	hist              results.Histogram
	lateN             int64
	lateSum, lateMax  int64
	lastEnd           int64 // latest completion (or unsent hit given up) seen
	waitN, waitErrs   int64 // records that completed after attackEnd
	waitBytesIn       int64
	examples          map[string]string
	next              int64 // first slice not final
	pending           map[int64]*sliceAcc
	free              []*sliceAcc
	cachedIdx         int64
	cached            *sliceAcc
	series            []results.Sample
}

const maxDenseWorker = 4096

// sliceAcc accumulates one open slice.
type sliceAcc struct {
	requests, errors, bytesIn int64
	hist                      results.Histogram
}

// newAggregator returns an aggregator of slices of width interval;
// attackEnd, if not negative, is the end of the attack (ns since the start
// of measurement), after which records are the wait's.
func newAggregator(interval time.Duration, open bool, lateThreshold time.Duration, attackEnd time.Duration) *aggregator {
	lastIdx := int64(-1)
	if attackEnd >= 0 {
		lastIdx = max((int64(attackEnd)+int64(interval)-1)/int64(interval)-1, 0)
	}
	return &aggregator{
		interval:      int64(interval),
		open:          open,
		lateThreshold: int64(lateThreshold),
		attackEnd:     int64(attackEnd),
		lastIdx:       lastIdx,
		pending:       map[int64]*sliceAcc{},
		cachedIdx:     -1,
		examples:      map[string]string{},
	}
}

// needExample reports whether the summary has no error text of this kind
// yet; setExample gives it one. The first one of each kind is kept.
func (a *aggregator) needExample(kind uint8) bool { return a.examples[kindNames[kind]] == "" }

func (a *aggregator) setExample(kind uint8, text string) { a.examples[kindNames[kind]] = text }

// add folds one record in.
func (a *aggregator) add(r *record) {
	if r.kind == kindUnsent {
		// Never sent: no request, no slice, but a latency of at least the
		// time it waited before it was given up.
		a.unsent++
		a.hist.RecordBound(r.latency)
		a.lastEnd = max(a.lastEnd, r.start+r.latency)
		return
	}
	end := r.start + r.latency
	a.lastEnd = max(a.lastEnd, end)
	idx := max(end, 0) / a.interval
	wait := a.attackEnd >= 0 && end > a.attackEnd
	if a.lastIdx >= 0 && idx > a.lastIdx {
		idx = a.lastIdx // completed at the attack's end, in the last slice
	}
	a.requests++
	a.bytesIn += int64(r.bytesIn)
	a.bytesOut += int64(r.bytesOut)
	failed := r.kind != kindOK
	if failed {
		a.errors++
		a.kinds[r.kind]++
	}
	if r.status != 0 && int(r.status) < len(a.status) {
		a.status[r.status]++
	}
	switch w := r.worker; {
	case w < 0:
	case w < maxDenseWorker:
		if int(w) >= len(a.workers) {
			a.workers = append(a.workers, make([]int64, int(w)+1-len(a.workers))...)
		}
		a.workers[w]++
	default:
		if a.workersSparse == nil {
			a.workersSparse = map[int32]int64{}
		}
		a.workersSparse[w]++
	}
	if a.open && r.late > a.lateThreshold {
		a.lateN++
		a.lateSum += r.late
		a.lateMax = max(a.lateMax, r.late)
	}

	if wait {
		a.waitN++
		a.waitBytesIn += int64(r.bytesIn)
		if failed {
			a.waitErrs++
		}
		recordLatency(&a.hist, r)
		return
	}
	if idx < a.next {
		// Its slice is final: everything but that slice's percentiles.
		for int64(len(a.series)) <= idx {
			a.series = append(a.series, results.Sample{})
		}
		s := &a.series[idx]
		s.Requests++
		s.BytesIn += int64(r.bytesIn)
		if failed {
			s.Errors++
		}
		recordLatency(&a.hist, r)
		return
	}
	sl := a.cached
	if idx != a.cachedIdx {
		sl = a.pending[idx]
		if sl == nil {
			if n := len(a.free); n > 0 {
				sl, a.free = a.free[n-1], a.free[:n-1]
			} else {
				sl = &sliceAcc{}
			}
			a.pending[idx] = sl
		}
		a.cached, a.cachedIdx = sl, idx
	}
	sl.requests++
	sl.bytesIn += int64(r.bytesIn)
	if failed {
		sl.errors++
	}
	recordLatency(&sl.hist, r)
}

// recordLatency records what a request's latency says: a complete
// response's exactly; a timeout's as a lower bound, as vegeta counts it
// (it took at least that long), so that percentiles see a server that
// stopped answering; other failures (refused, reset, closed) not at all,
// since a refused connection's 0.1 ms is no response time.
func recordLatency(h *results.Histogram, r *record) {
	switch {
	case r.complete():
		h.Record(r.latency)
	case r.kind == kindTimeout:
		h.RecordBound(r.latency)
	}
}

// finalize closes every slice before index upTo, slices without records
// included, so the series has no holes.
func (a *aggregator) finalize(upTo int64) {
	if a.lastIdx >= 0 {
		upTo = min(upTo, a.lastIdx+1)
	}
	for ; a.next < upTo; a.next++ {
		s := results.Sample{T: float64(a.next*a.interval) / 1e9}
		if sl := a.pending[a.next]; sl != nil {
			s.Requests, s.Errors, s.BytesIn = sl.requests, sl.errors, sl.bytesIn
			if sl.hist.Count() > 0 {
				s.P50 = results.Ms(sl.hist.Quantile(0.5))
				s.P99 = results.Ms(sl.hist.Quantile(0.99))
				s.Max = results.Ms(sl.hist.Max())
			}
			a.hist.Merge(&sl.hist)
			sl.hist.Reset()
			sl.requests, sl.errors, sl.bytesIn = 0, 0, 0
			delete(a.pending, a.next)
			a.free = append(a.free, sl)
			if a.cached == sl {
				a.cached, a.cachedIdx = nil, -1
			}
		}
		s.RPS = float64(s.Requests-s.Errors) / (float64(a.interval) / 1e9)
		if int64(len(a.series)) > a.next {
			// Records that came after the slice was final, if any.
			late := a.series[a.next]
			s.Requests += late.Requests
			s.Errors += late.Errors
			s.BytesIn += late.BytesIn
			a.series[a.next] = s
		} else {
			a.series = append(a.series, s)
		}
	}
}

// last returns the most recent final slice.
func (a *aggregator) last() (results.Sample, bool) {
	if a.next == 0 {
		return results.Sample{}, false
	}
	return a.series[a.next-1], true
}

// finish closes every slice that holds records and those up to the
// attack's duration dur, and fills s with the totals; the fairness is
// over s.Workers, set by the caller. The rates are of what completed
// within dur, over it; what completed after the attack's end is the
// wait's, said apart.
func (a *aggregator) finish(s *results.Summary, dur int64) {
	upTo := (dur + a.interval - 1) / a.interval
	for idx := range a.pending {
		upTo = max(upTo, idx+1)
	}
	a.finalize(upTo)
	for len(a.pending) > 0 { // beyond lastIdx: cannot happen, but never lose a count
		for idx, sl := range a.pending {
			a.hist.Merge(&sl.hist)
			delete(a.pending, idx)
		}
	}
	a.series = a.series[:a.next]

	secs := float64(dur) / 1e9
	s.DurationS = secs
	s.Requests, s.Errors, s.Unsent = a.requests, a.errors, a.unsent
	s.WaitRequests, s.WaitErrors = a.waitN, a.waitErrs
	if a.attackEnd >= 0 && a.lastEnd > a.attackEnd {
		s.WaitS = float64(a.lastEnd-a.attackEnd) / 1e9
	}
	s.ErrorKinds = map[string]int64{}
	for k := kindOK + 1; k < numKinds; k++ {
		if a.kinds[k] > 0 {
			s.ErrorKinds[kindNames[k]] = a.kinds[k]
		}
	}
	if len(a.examples) > 0 {
		s.ErrorExamples = a.examples
	}
	s.StatusCodes = map[string]int64{}
	for code, n := range a.status {
		if n > 0 {
			s.StatusCodes[strconv.Itoa(code)] = n
		}
	}
	s.BytesIn, s.BytesOut = a.bytesIn, a.bytesOut
	if secs > 0 {
		s.RPS = float64(a.requests-a.errors-(a.waitN-a.waitErrs)) / secs
		s.RPSAll = float64(a.requests-a.waitN) / secs
		s.BytesInPS = float64(a.bytesIn-a.waitBytesIn) / secs
	}
	h := a.hist
	s.Histogram = &h
	s.Latency = stats.LatencyOf(&h)

	s.PerWorker = map[string]int64{}
	for w, n := range a.workers {
		if n > 0 {
			s.PerWorker[results.WorkerKey(w)] = n
		}
	}
	for w, n := range a.workersSparse {
		s.PerWorker[results.WorkerKey(int(w))] = n
	}
	s.Fairness = stats.Jain(s.PerWorker, s.Workers) // over max(Workers, slots seen)

	if a.open {
		s.Late = results.Late{Count: a.lateN, Threshold: results.Ms(time.Duration(a.lateThreshold))}
		if a.requests > 0 {
			s.Late.Share = float64(a.lateN) / float64(a.requests)
		}
		if a.lateN > 0 {
			s.Late.MeanMs = results.Ms(time.Duration(a.lateSum / a.lateN))
			s.Late.MaxMs = results.Ms(time.Duration(a.lateMax))
		}
	}

	// The series' rates of successful responses, the last slice cut at
	// the end of measurement.
	for i := range a.series {
		w := a.interval
		if rest := dur - int64(i)*a.interval; rest < w && rest > 0 {
			w = rest
		}
		a.series[i].RPS = float64(a.series[i].Requests-a.series[i].Errors) / (float64(w) / 1e9)
	}
	s.TimeSeries = a.series
	s.PerSecond, s.BytesPerSec = stats.PerSecond(a.series, time.Duration(a.interval), time.Duration(dur))
}

// saturation applies the rule: the generator was the bottleneck when it
// used 90% or more of the CPUs it may use, or, in an open loop, when more
// than 1% of requests left late.
func saturation(s *results.Summary) {
	var why []string
	if s.CoresAllowed > 0 && s.LoadgenCores >= 0.9*float64(s.CoresAllowed) {
		why = append(why, "the load generator used "+strconv.FormatFloat(s.LoadgenCores, 'f', 2, 64)+" of the "+
			plural(s.CoresAllowed, "CPU")+" it may use (90% or more), so it may have been the bottleneck: the figures may describe the generator, not the server; give it more CPUs (--cpus) or the server fewer")
	}
	// Late for want of a free connection is the server's backlog: the
	// generator kept up, the server did not.
	if s.Mode == results.ModeOpen && s.Late.Share > 0.01 && s.Late.ConnBusy < s.Late.Count/2 {
		why = append(why, strconv.FormatFloat(100*s.Late.Share, 'f', 1, 64)+"% of requests left more than "+
			strconv.FormatFloat(s.Late.Threshold, 'f', -1, 64)+" ms after their scheduled time (over 1%): the generator could not keep the schedule, so the rate was not the one asked for")
	}
	s.Saturated = len(why) > 0
	s.SaturatedWhy = ""
	for i, w := range why {
		if i > 0 {
			s.SaturatedWhy += "; and "
		}
		s.SaturatedWhy += w
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// cores returns CPU seconds per second of wall time.
func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return math.Round(float64(cpu)/float64(wall)*1000) / 1000
}
