package loadgen

import (
	"testing"
	"time"
)

// The per-request costs of recording, apart from the network: what a
// connection pays to keep a record, and what the collector pays to fold it
// in. The end-to-end figures are in docs/performance.md.

func BenchmarkRecordBufAdd(b *testing.B) {
	var s recordBuf
	rec := record{start: 1, latency: 100_000, status: 200, worker: 3}
	n := 0
	for b.Loop() {
		s.add(rec)
		if n++; n == 10_000 { // what the collector takes every 10 ms at 1M req/s
			s.swap()
			n = 0
		}
	}
}

func BenchmarkAggregate(b *testing.B) {
	a := newAggregator(100*time.Millisecond, true, time.Millisecond, -1)
	rec := record{status: 200, worker: 3, bytesIn: 13}
	var i int64
	for b.Loop() {
		rec.start = i * 5_000 // 200k req/s
		rec.latency = 50_000 + i%1000*100
		a.add(&rec)
		if i%20_000 == 0 {
			a.finalize(rec.start/int64(100*time.Millisecond) - 1)
		}
		i++
	}
}
