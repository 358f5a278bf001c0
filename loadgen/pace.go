package loadgen

import (
	"math"
	"math/bits"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// hitClock runs a pacer on the virtual clock both engines' open loops
// share: the pacer is asked for the next hit given the previous hit's
// scheduled time, not the time the engine got to it, so an engine (or a
// server) that falls behind does not move the schedule; the lateness
// shows in the latencies and in the late count instead. Its hits are
// those after from and up to and with to (ns offsets): a 500/s pacer over
// 2 s schedules them at 2 ms, 4 ms, ... 2000 ms, 1000 of them, as vegeta
// sends.
//
// With a segment, the clock still walks the one-process schedule hit by
// hit (vegeta's pacers depend on the hits so far, not on the time alone)
// and returns only the segment's hits, at their times in it.
type hitClock struct {
	p        vegeta.Pacer
	from, to int64
	seg      Segment
	vt       int64
	hits     uint64 // of the one-process schedule
}

// next returns the next hit's scheduled offset; false when the schedule
// has none left.
func (c *hitClock) next() (int64, bool) {
	for {
		wait, stop := c.p.Pace(time.Duration(c.vt), c.hits)
		if stop {
			return 0, false
		}
		c.vt += max(int64(wait), 0)
		at := c.from + c.vt
		if at > c.to {
			return 0, false
		}
		c.hits++
		if c.seg.owns(c.hits - 1) {
			return at, true
		}
	}
}

// backlog tells the server's lateness from the generator's. It is on
// while the engine is behind because every connection (or vegeta worker)
// was waiting for a response; while on, a measured hit sent late counts
// as the server's backlog (late.conn_busy), whether it waited itself or
// followed one that did; the first hit sent on time turns it off. Off,
// note reads no clock.
type backlog struct{ on bool }

func (b *backlog) note(a *attack, sched int64) {
	if !b.on {
		return
	}
	if a.now()-sched <= int64(a.o.LateThreshold) {
		b.on = false
		return
	}
	if sched >= a.measure {
		a.connBusy.Add(1)
	}
}

// giveUp records the hit scheduled at sched as unsent, if measured: no
// connection took it within the timeout of its time.
func (a *attack) giveUp(s *recordBuf, sched int64) {
	if sched >= a.measure {
		now := a.now()
		s.add(record{start: sched, latency: now - sched, late: now - sched, worker: -1, kind: kindUnsent})
	}
}

// constantRate is a constant pacer whose hit n (from 1) is due at exactly
// n·Per/Freq, rounded down to the nanosecond. vegeta's ConstantPacer
// truncates the interval instead (1 s / 30000 = 33,333 ns), which over a
// 4 s run at 30000/s schedules 120,001 hits where the rate and duration
// say 120,000.
type constantRate struct {
	Freq int
	Per  time.Duration
}

var _ vegeta.Pacer = constantRate{}

// Pace returns the wait from elapsed until hit number hits+1 is due.
func (c constantRate) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if c.Freq <= 0 || c.Per <= 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(hits+1, uint64(c.Per))
	if hi >= uint64(c.Freq) {
		return 0, true // past any duration a run can have
	}
	due, _ := bits.Div64(hi, lo, uint64(c.Freq))
	if due > math.MaxInt64 {
		return 0, true
	}
	return max(time.Duration(due)-elapsed, 0), false
}

// Rate is the constant rate in hits per second.
func (c constantRate) Rate(time.Duration) float64 {
	return float64(c.Freq) / c.Per.Seconds()
}
