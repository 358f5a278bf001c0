package results

import (
	"fmt"
	"strconv"
	"strings"
)

// SegmentsMissing names the segments of an I/N split absent from the
// parts ("2/3") or given twice, or says the parts are of different
// splits; nil when the parts are a whole load or every segment of one
// split once.
func SegmentsMissing(parts []LoadHost) error {
	n := 0
	seen := map[int]int{}
	for _, p := range parts {
		seg := p.Segment
		if seg == "" {
			continue
		}
		a, b, _ := strings.Cut(seg, "/")
		i, _ := strconv.Atoi(a)
		c, _ := strconv.Atoi(b)
		if n != 0 && c != n {
			return fmt.Errorf("%s is segment %s, another of %d segments: merge the parts of one split", p.Host, seg, n)
		}
		n = c
		seen[i]++
	}
	var missing, twice []string
	for i := 1; i <= n; i++ {
		switch seen[i] {
		case 0:
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		case 1:
		default:
			twice = append(twice, fmt.Sprintf("%d/%d", i, n))
		}
	}
	switch {
	case len(twice) > 0:
		return fmt.Errorf("segment %s given more than once: each part of the load should be counted once", strings.Join(twice, ", "))
	case len(missing) > 0:
		return fmt.Errorf("segment %s missing: the merged load is not the whole load", strings.Join(missing, ", "))
	}
	return nil
}
