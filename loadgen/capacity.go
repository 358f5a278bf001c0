package loadgen

import (
	"context"
	"time"

	"github.com/corebench/corebench/results"
)

// MaxProbe bounds a capacity probe whose round trips need it longer.
const MaxProbe = 30 * time.Second

// Capacity measures what a server answers per second under a closed loop,
// the capacity a rate in percent (bench attack --rate 80%) or a
// scenario's share is of. measure runs the loop for d after warm
// unmeasured; the first try is d after d/2. A closed loop completes its
// first requests a round trip after it starts, and on a slow server (many
// connections on one core, all served at once) a round trip can outlast a
// short probe, which then counts too few: when the mean answer took over a
// quarter of d, it measures again for 8 mean answers after 2, up to
// MaxProbe, and tells again (if set) why.
func Capacity(ctx context.Context, d time.Duration, measure func(ctx context.Context, warm, d time.Duration) (*results.Summary, error),
	again func(mean, warm, d time.Duration)) (*results.Summary, error) {
	warm := d / 2
	for {
		s, err := measure(ctx, warm, d)
		if err != nil || s == nil {
			return s, err
		}
		mean := time.Duration(s.Latency.Mean * float64(time.Millisecond))
		if 4*mean <= d || d >= MaxProbe || ctx.Err() != nil {
			return s, nil
		}
		warm, d = 2*mean, min(MaxProbe, 8*mean)
		if again != nil {
			again(mean, warm, d)
		}
	}
}
