package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is one of Count parts of a load, for running it from several
// processes or machines, as k6's execution segments do: the Count
// segments together send exactly what one process would. Segment I of N
// (I from 1) sends, in the open loop, hits k of the one-process schedule
// (k from 0) with k mod N = I-1, each at its time in that schedule, so
// the union of the segments' schedules is the one-process schedule; in
// the closed loop it runs its share of the connections, the first
// Connections mod N segments one more than the others. The zero value,
// like 1/1, is the whole load.
type Segment struct {
	Index, Count int
}

// ParseSegment parses "I/N", 1 ≤ I ≤ N.
func ParseSegment(s string) (Segment, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Segment{}, fmt.Errorf("segment %q: want I/N, e.g. 1/3 for the first of three", s)
	case n < 1 || n > 1<<20:
		return Segment{}, fmt.Errorf("segment %q: want 1 to %d segments", s, 1<<20)
	case i < 1 || i > n:
		return Segment{}, fmt.Errorf("segment %q: want I from 1 to %d", s, n)
	}
	return Segment{Index: i, Count: n}, nil
}

// Whole reports whether s is the whole load.
func (s Segment) Whole() bool { return s.Count <= 1 }

func (s Segment) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Share is the segment's part of total things (connections): total/N,
// one more for the first total mod N segments, so the shares add up to
// total.
func (s Segment) Share(total int) int {
	if s.Whole() {
		return total
	}
	n := total / s.Count
	if s.Index-1 < total%s.Count {
		n++
	}
	return n
}

// owns reports whether hit k (from 0) of the one-process schedule is the
// segment's.
func (s Segment) owns(k uint64) bool {
	return s.Whole() || k%uint64(s.Count) == uint64(s.Index-1)
}

func (s Segment) check() error {
	if s == (Segment{}) {
		return nil
	}
	if s.Count < 1 || s.Index < 1 || s.Index > s.Count {
		return fmt.Errorf("segment %d/%d: want I/N with 1 ≤ I ≤ N", s.Index, s.Count)
	}
	return nil
}
