// Package affinity parses CPU lists and pins processes to CPUs.
//
// sched_setaffinity applies to one thread, and a Go process has many, so
// pinning a running process means pinning every thread it has (PinProcess),
// and pinning a child means forking it from a pinned thread (StartPinned),
// because a child inherits the mask of the thread that forked it.
package affinity

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrUnsupported is returned where the OS has no CPU affinity API.
var ErrUnsupported = errors.New("CPU pinning is not supported on this OS")

// ParseList parses a Linux CPU list such as "0-3,6,8-9" into sorted,
// distinct CPU numbers.
func ParseList(s string) ([]int, error) {
	cpus, err := ParseOrdered(s)
	slices.Sort(cpus)
	return cpus, err
}

// ParseOrdered parses a CPU list as ParseList does but keeps the order it
// is written in, dropping repeats: "0,2,1,3" stays so, for lists whose
// order means something (prefork pins worker i to the i-th CPU).
func ParseOrdered(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty CPU list")
	}
	seen := map[int]bool{}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU list %q: %q is not a CPU number or range", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q: %q is not a CPU range", s, part)
			}
		}
		if b >= 4096 {
			return nil, fmt.Errorf("bad CPU list %q: CPU %d is out of range", s, b)
		}
		for c := a; c <= b; c++ {
			if !seen[c] {
				seen[c] = true
				cpus = append(cpus, c)
			}
		}
	}
	return cpus, nil
}

// Format renders CPUs as a compact list ("0-3,6"), the inverse of ParseList.
func Format(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", cpus[i], cpus[j])
		} else {
			fmt.Fprintf(&b, "%d", cpus[i])
		}
		i = j + 1
	}
	return b.String()
}

// Check reports an error when some of cpus are not in the allowed set.
func Check(cpus, allowed []int) error {
	ok := map[int]bool{}
	for _, c := range allowed {
		ok[c] = true
	}
	for _, c := range cpus {
		if !ok[c] {
			return fmt.Errorf("CPU %d is not available here (this process may run on %s)", c, Format(allowed))
		}
	}
	return nil
}
