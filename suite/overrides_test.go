package suite

import (
	"slices"
	"testing"
	"time"

	"github.com/corebench/corebench/variant"
)

// TestWith: each override replaces what the profile says, and only it; a
// zero override keeps the profile's; smoke scale cuts what it runs.
func TestWith(t *testing.T) {
	std := Profiles["standard"]
	if got := std.With(Overrides{}); !slices.Equal(got.Workloads, std.Workloads) || got.Duration != std.Duration ||
		got.Warmup != std.Warmup || got.Repeat != std.Repeat || len(got.Models) != len(std.Models) || got.PerCPU != std.PerCPU {
		t.Errorf("no override changed the profile: %+v", got)
	}
	ext := variant.Variant{Name: "ext", Command: "sleep 1"}
	zero := time.Duration(0)
	got := std.With(Overrides{Models: []variant.Variant{variant.SingleCore}, Servers: []variant.Variant{ext},
		Workloads: []string{"cpu"}, Connections: []int{8, 64}, Duration: time.Second, Warmup: &zero, Repeat: 3, WorkerSweep: true})
	if names := variant.Names(got.Models); !slices.Equal(names, []string{"singlecore", "ext"}) {
		t.Errorf("models %v, want singlecore then the external server", names)
	}
	if !slices.Equal(got.Workloads, []string{"cpu"}) || got.Connections != 8 || !slices.Equal(got.ConnSweep, []int{8, 64}) || got.PerCPU != 0 ||
		got.Duration != time.Second || got.Warmup != 0 || got.Repeat != 3 || !got.WorkerSweep {
		t.Errorf("overrides not applied: %+v", got)
	}
	if len(std.Models) != len(DefaultModels) {
		t.Errorf("With changed the profile it was called on: %d models", len(std.Models))
	}
	smoke := std.With(Overrides{Smoke: true})
	if s := Profiles["smoke"]; smoke.Duration != s.Duration || smoke.Repeat != s.Repeat || smoke.Connections > 8 ||
		len(smoke.ConnSweep) > 2 || len(smoke.RateSweep) > 2 || smoke.PerCPU != 0 {
		t.Errorf("smoke scale: %+v", smoke)
	}
}
