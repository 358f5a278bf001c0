package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// TestCapacity: the probe warms up for half its length, then measures;
// when its answers took over a quarter of it, it measures again for 8
// mean answers after 2, up to MaxProbe, and says so.
func TestCapacity(t *testing.T) {
	type try struct{ warm, d time.Duration }
	for _, tt := range []struct {
		name   string
		means  []time.Duration // the mean answer each try measures
		want   []try
		agains int
	}{
		{"fast server", []time.Duration{time.Millisecond}, []try{{time.Second, 2 * time.Second}}, 0},
		{"slow answers", []time.Duration{900 * time.Millisecond, 100 * time.Millisecond},
			[]try{{time.Second, 2 * time.Second}, {1800 * time.Millisecond, 7200 * time.Millisecond}}, 1},
		{"slower than the bound", []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second},
			[]try{{time.Second, 2 * time.Second}, {20 * time.Second, MaxProbe}}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var tries []try
			agains := 0
			s, err := Capacity(context.Background(), 2*time.Second, func(_ context.Context, warm, d time.Duration) (*results.Summary, error) {
				mean := tt.means[len(tries)]
				tries = append(tries, try{warm, d})
				return &results.Summary{RPS: float64(len(tries)), Latency: results.Latency{Mean: float64(mean) / float64(time.Millisecond)}}, nil
			}, func(mean, warm, d time.Duration) { agains++ })
			if err != nil || s == nil || s.RPS != float64(len(tt.want)) {
				t.Fatalf("Capacity = %+v, %v: want the last try's summary", s, err)
			}
			if len(tries) != len(tt.want) || agains != tt.agains {
				t.Fatalf("tries %v (told again %d times), want %v", tries, agains, tt.want)
			}
			for i := range tries {
				if tries[i] != tt.want[i] {
					t.Errorf("try %d: warm %v, measure %v; want %v, %v", i, tries[i].warm, tries[i].d, tt.want[i].warm, tt.want[i].d)
				}
			}
		})
	}
}
