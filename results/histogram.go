package results

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits linear sub-buckets per
// power of two, so any recorded value is known within 1/2^subBits (0.78%).
// That is the HdrHistogram layout with about two significant digits, enough
// for p99.99 while a dense histogram of latencies up to an hour stays under
// 40 KB.
const subBits = 7

const subCount = 1 << subBits

// Histogram counts durations (in nanoseconds) in log-linear buckets with a
// bounded relative error, like HdrHistogram. Min and max are exact; mean
// and the sum of squared deviations are kept with Welford's method and
// merged with Chan's formula, so the stdev keeps its precision even for
// values of seconds that differ by nanoseconds (sum of squares minus the
// squared mean would cancel away every digit); quantiles are within 1/128
// of the true value. Counts merge exactly, which is what lets repeats,
// connections and load machines be combined after the fact.
//
// A value recorded with RecordBound is a lower bound of the true one: a
// request that timed out, or one that was never sent, took at least that
// long. Quantiles that such values can move are lower bounds too, and
// LowerBound says which.
//
// The zero value is an empty histogram ready to use. A Histogram is not
// safe for concurrent use.
type Histogram struct {
	counts []uint64 // grown on demand up to the highest bucket used
	total  uint64
	min    int64
	max    int64
	mean   float64
	m2     float64 // sum of squared deviations from the mean

	bounded  uint64 // values that are lower bounds
	boundMin int64  // the smallest of them
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(v) - (subBits + 1)
	return e*subCount + int(v>>uint(e))
}

// bucketBounds returns the lowest and highest value that fall in bucket i.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i)
	}
	e := i/subCount - 1
	m := uint64(i - e*subCount)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one value in nanoseconds; negative values count as zero.
func (h *Histogram) Record(ns int64) { h.RecordN(ns, 1) }

// RecordN adds n occurrences of a value in nanoseconds.
func (h *Histogram) RecordN(ns int64, n uint64) {
	if n == 0 {
		return
	}
	if ns < 0 {
		ns = 0
	}
	i := bucketOf(uint64(ns))
	if i >= len(h.counts) {
		h.grow(i)
	}
	h.counts[i] += n
	if h.total == 0 || ns < h.min {
		h.min = ns
	}
	if ns > h.max {
		h.max = ns
	}
	h.total += n
	// Welford, weighted by n.
	d := float64(ns) - h.mean
	h.mean += d * float64(n) / float64(h.total)
	h.m2 += d * (float64(ns) - h.mean) * float64(n)
}

// RecordBound adds one value known to be a lower bound of the true one.
func (h *Histogram) RecordBound(ns int64) {
	ns = max(ns, 0)
	h.Record(ns)
	if h.bounded == 0 || ns < h.boundMin {
		h.boundMin = ns
	}
	h.bounded++
}

// Bounded returns how many recorded values are lower bounds.
func (h *Histogram) Bounded() uint64 { return h.bounded }

// LowerBound reports whether Quantile(q) is only a lower bound: whether
// its rank falls where a value recorded with RecordBound could be, had
// that value been its true, larger one. (The q-th value of a set only
// grows when any member grows, and stays put when every member that
// grows lies above it.)
func (h *Histogram) LowerBound(q float64) bool {
	if h.bounded == 0 {
		return false
	}
	return bucketOf(uint64(max(int64(h.Quantile(q)), 0))) >= bucketOf(uint64(h.boundMin))
}

func (h *Histogram) grow(i int) {
	n := max(2*len(h.counts), i+1, 4*subCount)
	c := make([]uint64, n)
	copy(c, h.counts)
	h.counts = c
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		h.grow(len(o.counts) - 1)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	// Chan et al.'s pairwise update of the mean and squared deviations.
	n := h.total + o.total
	d := o.mean - h.mean
	h.m2 += o.m2 + d*d*float64(h.total)*float64(o.total)/float64(n)
	h.mean += d * float64(o.total) / float64(n)
	h.total = n
	if o.bounded > 0 && (h.bounded == 0 || o.boundMin < h.boundMin) {
		h.boundMin = o.boundMin
	}
	h.bounded += o.bounded
}

// Reset empties h, keeping its memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.total, h.min, h.max, h.mean, h.m2 = 0, 0, 0, 0, 0
	h.bounded, h.boundMin = 0, 0
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min returns the smallest recorded value, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the recorded values (within a nanosecond).
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(math.Round(h.mean))
}

// Stdev returns the population standard deviation of the recorded values.
func (h *Histogram) Stdev() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(math.Round(math.Sqrt(max(h.m2, 0) / float64(h.total))))
}

// Quantile returns the value at quantile q (0..1): the highest value
// equivalent to the q-th recorded value, clamped to the exact min and max,
// so Quantile(0) is Min and Quantile(1) is Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			v := int64(hi)
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// histJSON is the on-disk form: only the non-empty buckets, as
// [index, count] pairs, with the precision they were recorded at. Sum is
// written for readers that want it; the mean and M2 are what is read.
type histJSON struct {
	SubBucketBits int         `json:"sub_bucket_bits"`
	Unit          string      `json:"unit"`
	Count         uint64      `json:"count"`
	Min           int64       `json:"min"`
	Max           int64       `json:"max"`
	Sum           float64     `json:"sum"`
	Mean          *float64    `json:"mean,omitempty"`
	M2            *float64    `json:"m2,omitempty"`     // sum of squared deviations from the mean
	SumSq         float64     `json:"sum_sq,omitempty"` // older files: M2 is derived from it
	Bounded       uint64      `json:"bounded,omitempty"`
	BoundMin      int64       `json:"bound_min,omitempty"`
	Buckets       [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes the non-empty buckets sparsely.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	mean, m2 := h.mean, h.m2
	j := histJSON{SubBucketBits: subBits, Unit: "ns", Count: h.total, Min: h.min, Max: h.max, Sum: h.mean * float64(h.total),
		Mean: &mean, M2: &m2, Bounded: h.bounded, BoundMin: h.boundMin, Buckets: [][2]uint64{}}
	for i, c := range h.counts {
		if c != 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON wrote and checks it is consistent.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.SubBucketBits != subBits || j.Unit != "ns" {
		return fmt.Errorf("histogram recorded with sub_bucket_bits=%d unit=%q, this build reads %d and \"ns\"", j.SubBucketBits, j.Unit, subBits)
	}
	*h = Histogram{min: j.Min, max: j.Max, bounded: j.Bounded, boundMin: j.BoundMin}
	switch {
	case j.Mean != nil && j.M2 != nil:
		h.mean, h.m2 = *j.Mean, *j.M2
	case j.Count > 0:
		n := float64(j.Count)
		h.mean, h.m2 = j.Sum/n, max(j.SumSq-j.Sum*j.Sum/n, 0)
	}
	var total uint64
	for _, b := range j.Buckets {
		i := int(b[0])
		if b[0] > 64*subCount {
			return fmt.Errorf("histogram bucket %d out of range", b[0])
		}
		if i >= len(h.counts) {
			h.grow(i)
		}
		h.counts[i] += b[1]
		total += b[1]
	}
	if total != j.Count {
		return fmt.Errorf("histogram buckets hold %d values but its count says %d", total, j.Count)
	}
	h.total = total
	return nil
}
