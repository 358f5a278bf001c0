package main

import (
	"slices"
	"testing"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
)

// TestConnectionsFlagWins: an explicit --connections is planned as given
// on any machine, where the profile's default grows with the server CPUs;
// so is the smoke cut.
func TestConnectionsFlagWins(t *testing.T) {
	for _, tt := range []struct {
		conns     string
		smoke     bool
		want      int
		wantSweep []int
		sized     bool
	}{
		{conns: "", want: 384, wantSweep: []int{1, 4, 16, 64, 256, 1024}, sized: true},
		{conns: "64", want: 64, wantSweep: []int{1, 4, 16, 256}}, // and 64 in the models sweep: not extended
		{conns: "8,32", want: 8, wantSweep: []int{32}},           // 8 is planned once, in the models sweep
		{conns: "", smoke: true, want: 8, wantSweep: []int{1, 4}},
	} {
		f := runFlags{profile: "standard", conns: tt.conns, engine: loadgen.EngineFast, warmup: -1}
		prof, err := f.profileOf(tt.smoke)
		if err != nil {
			t.Fatal(err)
		}
		n, how := prof.Conns(48)
		if n != tt.want {
			t.Errorf("--connections %q (smoke %v) on 48 server CPUs: %d connections (%s), want %d", tt.conns, tt.smoke, n, how, tt.want)
		}
		if (prof.PerCPU > 0) != tt.sized {
			t.Errorf("--connections %q (smoke %v): sized to the machine %v", tt.conns, tt.smoke, prof.PerCPU > 0)
		}
		specs, err := suite.Plan(prof, 48)
		if err != nil {
			t.Fatal(err)
		}
		var sweep []int
		for _, s := range specs {
			if s.Sweep == results.SweepConnections && s.Model == results.SingleCore {
				sweep = append(sweep, s.Connections)
			}
		}
		if !slices.Equal(sweep, tt.wantSweep) {
			t.Errorf("--connections %q (smoke %v) on 48 server CPUs: connections sweep %v, want %v", tt.conns, tt.smoke, sweep, tt.wantSweep)
		}
	}
}
