package loadgen

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/results"
)

// Source is one stream of vegeta results, typically a file written by
// `bench attack --output` or `vegeta attack` on one load machine.
type Source struct {
	Name string // for error messages
	Dec  vegeta.Decoder
}

// mergeWindow is how far results may come out of time order, within a
// source or between sources, and still count in their slice's percentiles.
const mergeWindow = 10 * time.Second

// Merge summarises the results of every source as one run, the way
// vegeta documents distributed attacks: each load machine attacks and
// writes its results, and the results are merged. Sources are read in
// step, by timestamp, so the merged time series adds up the machines'
// requests slice by slice. Counts and the histogram are exact. As vegeta
// reads results, the attack runs from the earliest request sent to the
// latest one sent (for an open loop, scheduled), and the results that
// ended after it are the wait's: in the counts and latencies, not in the
// rates or the time series (see Run).
//
// Results files carry no generator CPU, pacing or lateness, so those
// fields stay empty; the summary's Engine is "merged". With more than
// one source, LoadHosts has a row for each, its counts and percentiles
// from its own histogram.
func Merge(srcs []Source, interval time.Duration) (*results.Summary, error) {
	if interval <= 0 {
		interval = DefaultSeriesInterval
	}
	type head struct {
		res  vegeta.Result
		ok   bool
		name string
		dec  vegeta.Decoder
		n    int
		// The source's own figures, from its first result.
		agg    *waitSplit
		origin time.Time
		attack string
	}
	heads := make([]*head, len(srcs))
	next := func(h *head) error {
		h.res = vegeta.Result{}
		err := h.dec.Decode(&h.res)
		switch {
		case err == nil:
			h.ok = true
			h.n++
			return nil
		case errors.Is(err, io.EOF):
			h.ok = false
			return nil
		default:
			return fmt.Errorf("%s: result %d: %v", h.name, h.n+1, err)
		}
	}
	for i, s := range srcs {
		heads[i] = &head{name: s.Name, dec: s.Dec}
		if err := next(heads[i]); err != nil {
			return nil, err
		}
	}

	agg := newWaitSplit(interval)
	var origin time.Time
	started := false
	targets, methods, attacks := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for {
		var h *head
		for _, c := range heads {
			if c.ok && (h == nil || c.res.Timestamp.Before(h.res.Timestamp)) {
				h = c
			}
		}
		if h == nil {
			break
		}
		res := &h.res
		if !started {
			origin, started = res.Timestamp, true
		}
		targets[res.URL] = true
		methods[res.Method] = true
		attacks[res.Attack] = true
		rec := resultRecord(res, origin)
		agg.add(&rec)
		if len(srcs) > 1 {
			if h.agg == nil {
				h.agg, h.origin, h.attack = newWaitSplit(interval), res.Timestamp, res.Attack
			}
			own := resultRecord(res, h.origin)
			h.agg.add(&own)
		}
		if rec.kind != kindOK && agg.needExample(rec.kind) {
			text := res.Error
			if text == "" {
				text = kindPhrase[rec.kind]
			}
			agg.setExample(rec.kind, text)
		}
		if end := rec.start + rec.latency - int64(mergeWindow); end > 0 {
			agg.finalize(end / int64(interval))
		}
		if err := next(h); err != nil {
			return nil, err
		}
	}

	s := &results.Summary{Engine: "merged", Start: origin}
	if len(targets) == 1 {
		for t := range targets {
			s.Target = t
		}
	} else if len(targets) > 1 {
		s.Target = strconv.Itoa(len(targets)) + " targets"
	}
	for m := range methods {
		if len(methods) == 1 {
			s.Method = m
		}
	}
	for a := range attacks {
		if seg, ok := strings.CutPrefix(a, "segment "); ok && len(attacks) == 1 {
			s.Segment = seg // one bench attack --segment's results
		}
	}
	agg.finish(s)
	for _, h := range heads {
		if h.agg == nil {
			continue
		}
		var own results.Summary
		h.agg.finish(&own)
		row := results.LoadHost{Host: h.name, Requests: own.Requests, Errors: own.Errors, RPS: own.RPS,
			P50: own.Latency.P50, P99: own.Latency.P99, Start: h.origin, DurationS: own.DurationS,
			StartSkewMs: results.Ms(h.origin.Sub(origin))}
		if seg, ok := strings.CutPrefix(h.attack, "segment "); ok {
			row.Segment = seg // as bench attack --segment names its results
		}
		s.LoadHosts = append(s.LoadHosts, row)
	}
	return s, nil
}

// resultRecord turns a result read back from a file into a record.
func resultRecord(res *vegeta.Result, origin time.Time) record {
	rec := record{
		start:    int64(res.Timestamp.Sub(origin)),
		latency:  int64(res.Latency),
		status:   res.Code,
		worker:   -1,
		bytesIn:  uint32(min(res.BytesIn, 1<<32-1)),
		bytesOut: uint32(min(res.BytesOut, 1<<32-1)),
	}
	if v := res.Headers.Get("X-Worker"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
			rec.worker = int32(n)
		}
	}
	if k := errorKind(res.Code, res.Error); k != "" {
		rec.kind = kindByName[k]
	}
	if rec.kind != kindOK && rec.kind != kindBadStatus {
		rec.status = 0
	}
	return rec
}

// waitSplit feeds an aggregator the results of a file, which says when
// each request was sent but not when the attack ended: vegeta takes the
// attack to end at the latest request sent. Results that end after the
// latest one sent so far are held until a later send passes their end;
// those still held once every result is read ended after the attack, in
// the wait.
type waitSplit struct {
	*aggregator
	latest int64      // the latest start seen
	held   recordHeap // ending after latest
}

func newWaitSplit(interval time.Duration) *waitSplit {
	return &waitSplit{aggregator: newAggregator(interval, false, 0, -1)}
}

func (w *waitSplit) add(r *record) {
	if r.start > w.latest {
		w.latest = r.start
		for len(w.held) > 0 && w.held[0].start+w.held[0].latency <= w.latest {
			rec := heap.Pop(&w.held).(record)
			w.aggregator.add(&rec)
		}
	}
	if r.start+r.latency > w.latest {
		heap.Push(&w.held, *r)
		return
	}
	w.aggregator.add(r)
}

// finish ends the attack at the latest start, or at the latest end for a
// single instant of sends, and adds the held results to it.
func (w *waitSplit) finish(s *results.Summary) {
	a := w.aggregator
	end := w.latest
	if end == 0 {
		end = max(a.lastEnd, w.maxHeldEnd())
	}
	a.attackEnd = end
	a.lastIdx = max((end+a.interval-1)/a.interval-1, 0)
	for len(w.held) > 0 {
		rec := heap.Pop(&w.held).(record)
		a.add(&rec)
	}
	a.finish(s, end)
}

func (w *waitSplit) maxHeldEnd() int64 {
	var m int64
	for _, r := range w.held {
		m = max(m, r.start+r.latency)
	}
	return m
}

// recordHeap is a min-heap of records by their end.
type recordHeap []record

func (h recordHeap) Len() int           { return len(h) }
func (h recordHeap) Less(i, j int) bool { return h[i].start+h[i].latency < h[j].start+h[j].latency }
func (h recordHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *recordHeap) Push(x any)        { *h = append(*h, x.(record)) }
func (h *recordHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
