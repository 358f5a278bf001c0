package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/models/modeltest"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
	"github.com/corebench/corebench/variant"
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
		f := runFlags{profile: "standard", conns: tt.conns, engine: loadgen.EngineFast, readyTimeout: time.Second, ioMs: 10}
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
			if s.Sweep == results.SweepConnections && s.Model == variant.SingleCore {
				sweep = append(sweep, s.Connections)
			}
		}
		if !slices.Equal(sweep, tt.wantSweep) {
			t.Errorf("--connections %q (smoke %v) on 48 server CPUs: connections sweep %v, want %v", tt.conns, tt.smoke, sweep, tt.wantSweep)
		}
	}
}

// TestRunFlagChecks: a setting no run can have is one line and status 2
// before anything is planned or measured (--warmup -5s and --repeat 0
// were taken, the first as no warm-up, the second as the profile's).
func TestRunFlagChecks(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"--warmup -5s", "--warmup -5s: want 0 or more"},
		{"--repeat 0", "--repeat 0: want 1 or more"},
		{"--repeat -2", "--repeat -2: want 1 or more"},
		{"--duration 0s", "--duration 0s: want more than 0"},
		{"--duration -1s", "--duration -1s: want more than 0"},
		{"--ready-timeout 0s", "--ready-timeout 0s: want more than 0"},
		{"--cpu-iters 999999999", "--cpu-iters 999999999: want 0 (the server's default) to 10000000"},
		{"--io-ms 0", "--io-ms 0: want 1 to 30000"},
		{"--io-ms 999999", "--io-ms 999999: want 1 to 30000"},
	} {
		args := append([]string{"run", "--dry-run"}, strings.Fields(tt.args)...)
		st, out, errs := mainOut(args...)
		if st != 2 || out != "" || !isOneLineErr(errs) || !strings.HasPrefix(errs, "bench run: "+tt.want) {
			t.Errorf("bench %s: status %d, stdout %d bytes, stderr %q; want status 2 and one line %q", strings.Join(args, " "), st, len(out), errs, tt.want)
		}
	}
	// Not a dry run: refused before any load.
	st, _, errs := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--warmup", "-5s", "--out", t.TempDir()))
	if st != 2 || !isOneLineErr(errs) || strings.Contains(errs, "[1/") {
		t.Errorf("bench run --warmup -5s: status %d, stderr %q", st, errs)
	}
	// 0 is no warm-up, and leaving --warmup out is the profile's.
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{{nil, time.Second}, {[]string{"--warmup", "0s"}, 0}, {[]string{"--warmup", "2s"}, 2 * time.Second}} {
		var f runFlags
		fs := (&cli{cmd: commands["run"]}).flags()
		f.define(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		f.setFrom(fs)
		prof, err := f.profileOf(false)
		if err != nil || prof.Warmup != tt.want {
			t.Errorf("bench run %v: warm-up %v (%v), want %v", tt.args, prof.Warmup, err, tt.want)
		}
	}
}

// TestRunHelpDefaults: the settings a profile decides say so in the
// help, not a sentinel value such as -1ns.
func TestRunHelpDefaults(t *testing.T) {
	st, out, _ := mainOut("run", "--help")
	if st != 0 || strings.Contains(out, "-1ns") {
		t.Fatalf("status %d, help:\n%s", st, out)
	}
	for _, flag := range []string{"--warmup", "--duration", "--repeat"} {
		i := strings.Index(out, "      "+flag+" ")
		if i < 0 {
			t.Fatalf("help lacks %s:\n%s", flag, out)
		}
		line := out[i : i+strings.Index(out[i:], "\n")]
		if !strings.Contains(line, "(default: the profile's)") || strings.Contains(line, "(default ") {
			t.Errorf("help: %q", line)
		}
	}
}

// TestRunManycoreFewCPUs: the manycore profile on fewer than 16 CPUs is
// planned, and says in one line on stderr, and in the plan, what it is
// meant for; on 16 it says nothing.
func TestRunManycoreFewCPUs(t *testing.T) {
	const want = "the manycore profile is meant for 16 CPUs or more; this plan has 4"
	st, out, errs := mainOut("run", "--dry-run", "--profile", "manycore", "--sysfs", fixtureDir("laptop"))
	if st != 0 || !isOneLineErr(errs) || !strings.Contains(errs, want) || !strings.Contains(out, want) {
		t.Errorf("manycore on the 4-CPU laptop: status %d, stderr %q, plan:\n%s", st, errs, out)
	}
	p := dryRun(t, "--profile", "manycore", "--sysfs", fixtureDir("laptop"))
	if !strings.Contains(p.Placement.Note, want) {
		t.Errorf("--json: placement note %q", p.Placement.Note)
	}
	st, out, errs = mainOut("run", "--dry-run", "--profile", "manycore", "--sysfs", fixtureDir("16core-nosmt"))
	if st != 0 || errs != "" || strings.Contains(out, "meant for") {
		t.Errorf("manycore on 16 CPUs: status %d, stderr %q", st, errs)
	}
}

// isOneLineErr reports whether s is one line, with or without its newline.
func isOneLineErr(s string) bool {
	return s != "" && !strings.Contains(strings.TrimSuffix(s, "\n"), "\n")
}
