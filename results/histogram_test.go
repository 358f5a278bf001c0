package results

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// exactQuantile is the q-th value of sorted xs by the same rank rule.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantilesWithinBound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		gen  func() int64
	}{
		{"uniform-ms", func() int64 { return r.Int64N(int64(10 * time.Millisecond)) }},
		{"lognormal", func() int64 { return int64(math.Exp(r.NormFloat64()*1.5 + 12)) }},
		{"bimodal", func() int64 {
			if r.IntN(2) == 0 {
				return int64(time.Millisecond) + r.Int64N(1000)
			}
			return int64(20*time.Millisecond) + r.Int64N(1000)
		}},
	} {
		var h Histogram
		xs := make([]int64, 100000)
		for i := range xs {
			xs[i] = dist.gen()
			h.Record(xs[i])
		}
		slices.Sort(xs)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 0.9999} {
			got, want := float64(h.Quantile(q)), float64(exactQuantile(xs, q))
			if rel := math.Abs(got-want) / want; rel > 1.0/subCount {
				t.Errorf("%s q=%v: %v, exact %v (error %.4f > %.4f)", dist.name, q, got, want, rel, 1.0/subCount)
			}
		}
		if h.Min() != time.Duration(xs[0]) || h.Max() != time.Duration(xs[len(xs)-1]) {
			t.Errorf("%s: min/max %v/%v, exact %v/%v", dist.name, h.Min(), h.Max(), xs[0], xs[len(xs)-1])
		}
		var sum float64
		for _, x := range xs {
			sum += float64(x)
		}
		if mean := sum / float64(len(xs)); math.Abs(float64(h.Mean())-mean) > 1 {
			t.Errorf("%s: mean %v, exact %v", dist.name, h.Mean(), mean)
		}
	}
}

func TestHistogramBucketsContiguous(t *testing.T) {
	prevHi := uint64(0)
	for i := 1; i < 40*subCount; i++ {
		lo, hi := bucketBounds(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d] after a bucket ending at %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bucketOf(%d)=%d, bucketOf(%d)=%d", i, lo, bucketOf(lo), hi, bucketOf(hi))
		}
		prevHi = hi
	}
}

func TestHistogramMergeIsExact(t *testing.T) {
	var a, b, all Histogram
	for i := int64(1); i <= 5000; i++ {
		v := i * i * 37
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged %d/%v/%v/%v, recorded together %d/%v/%v/%v", a.Count(), a.Min(), a.Max(), a.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.99, 0.9999} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: merged %v, together %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

func TestHistogramJSONRoundTrip(t *testing.T) {
	var h Histogram
	for i := range 1000 {
		h.Record(int64(i) * 12345)
	}
	b, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.999, 1} {
		if back.Quantile(q) != h.Quantile(q) {
			t.Errorf("q=%v: %v after a round trip, %v before", q, back.Quantile(q), h.Quantile(q))
		}
	}
	if back.Count() != h.Count() || back.Stdev() != h.Stdev() {
		t.Errorf("count/stdev %d/%v after a round trip, %d/%v before", back.Count(), back.Stdev(), h.Count(), h.Stdev())
	}
}

func TestHistogramJSONRejectsDamage(t *testing.T) {
	for _, in := range []string{
		`{"sub_bucket_bits":5,"unit":"ns","count":0,"buckets":[]}`,
		`{"sub_bucket_bits":7,"unit":"ms","count":0,"buckets":[]}`,
		`{"sub_bucket_bits":7,"unit":"ns","count":3,"buckets":[[10,2]]}`,
		`{"sub_bucket_bits":7,"unit":"ns","count":1,"buckets":[[99999999,1]]}`,
		`{"sub_bucket_bits":7,"unit":"ns","count":1,"buckets":[[1`,
	} {
		var h Histogram
		if err := json.Unmarshal([]byte(in), &h); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Stdev() != 0 || h.Count() != 0 {
		t.Error("empty histogram reports values")
	}
	b, _ := json.Marshal(&h)
	if !strings.Contains(string(b), `"buckets":[]`) {
		t.Errorf("empty histogram encodes as %s", b)
	}
}

// TestStdevKeepsPrecision: a million latencies of 3 s and 3 s + 2 ns
// have a stdev of exactly 1 ns. The sum of squares minus the squared
// mean cancels every digit of it away (7.98 µs came out); Welford's
// method, and Chan's formula when histograms merge, keep it.
func TestStdevKeepsPrecision(t *testing.T) {
	var a, b Histogram
	for i := range 1000000 {
		v := int64(3*time.Second) + 2*int64(i%2)
		a.Record(v)
		if i%3 == 0 {
			b.Record(v)
		}
	}
	if a.Stdev() != 1 {
		t.Errorf("stdev %v, want 1ns", a.Stdev())
	}
	if a.Mean() != 3*time.Second+1 {
		t.Errorf("mean %v, want 3.000000001s", a.Mean())
	}
	b.Merge(&a)
	if sd := b.Stdev(); sd != 1 {
		t.Errorf("stdev after a merge %v, want 1ns", sd)
	}
	var back Histogram
	j, _ := json.Marshal(&b)
	if err := json.Unmarshal(j, &back); err != nil || back.Stdev() != 1 || back.Count() != b.Count() {
		t.Errorf("after a JSON round trip: stdev %v, count %d (%v)", back.Stdev(), back.Count(), err)
	}
}

// TestLowerBounds: values recorded as lower bounds (timeouts) make the
// quantiles that can reach them lower bounds, and only those, and a
// merge keeps them (stats' TestLatencyLowerBounds names them).
func TestLowerBounds(t *testing.T) {
	var h Histogram
	for range 990 {
		h.Record(int64(time.Millisecond))
	}
	for range 10 {
		h.RecordBound(int64(100 * time.Millisecond))
	}
	if !h.LowerBound(0.999) || h.LowerBound(0.99) || h.LowerBound(0.5) {
		t.Errorf("lower bounds at p999 %v, p99 %v, p50 %v: want p999 alone", h.LowerBound(0.999), h.LowerBound(0.99), h.LowerBound(0.5))
	}
	var m Histogram
	m.Merge(&h)
	if m.Bounded() != 10 || !m.LowerBound(0.999) {
		t.Errorf("a merge lost the bounds: %d", m.Bounded())
	}
}
