package models

import (
	"strings"
	"testing"
)

// TestParseWorkers: N, max and max-K, as pm2 -i takes them; 0, -K and
// +N are refused with the spelling to use (pm2 -i reads 0 as max and -K
// as max-K, but bench scale reads -K as K fewer than now), and so is a
// max-K that leaves no worker (pm2 starts one).
func TestParseWorkers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		cpus int
		want int
	}{
		{"4", 2, 4}, {"max", 8, 8}, {"max-1", 8, 7}, {"max-0", 3, 3}, {"max-1", 2, 1}, {"4096", 2, 4096},
	} {
		got, err := ParseWorkers(tt.in, tt.cpus)
		if err != nil || got != tt.want {
			t.Errorf("ParseWorkers(%q, %d) = %d, %v; want %d", tt.in, tt.cpus, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		cpus int
		say  string
	}{
		{"0", 6, "write max"}, {"-1", 6, "write max-1"}, {"-10", 6, "max-10"}, {"+2", 6, "bench scale"},
		{"max-1", 1, "leaves no worker"}, {"max-5", 2, "at most max-1"}, {"5000", 4, "at most 4096"},
		{"", 4, "want"}, {"many", 4, "want"}, {"max+1", 4, "want"}, {"max-x", 4, "want"}, {"max--1", 4, "want"},
		{" 4", 4, "want"}, {"4.0", 4, "want"}, {"0x10", 4, "want"},
	} {
		if n, err := ParseWorkers(tt.in, tt.cpus); err == nil || !strings.Contains(err.Error(), tt.say) {
			t.Errorf("ParseWorkers(%q, %d) = %d, %v; want an error that says %q", tt.in, tt.cpus, n, err, tt.say)
		}
	}
}

// TestParseScale: bench scale takes what ParseWorkers does, and +N and -N
// relative to the workers running, as pm2 scale does; a result out of 1
// to 4096 is refused.
func TestParseScale(t *testing.T) {
	for _, tt := range []struct {
		in        string
		cur, cpus int
		want      int
		relative  bool
	}{
		{"+1", 6, 2, 7, true}, {"-1", 4, 2, 3, true}, {"-3", 4, 2, 1, true}, {"+3", 2, 2, 5, true},
		{"1", 4, 2, 1, false}, {"max", 1, 2, 2, false}, {"max-1", 3, 2, 1, false},
	} {
		c, err := ParseCount(tt.in)
		if err != nil {
			t.Errorf("ParseCount(%q): %v", tt.in, err)
			continue
		}
		got, err := c.Resolve(tt.cur, tt.cpus)
		if err != nil || got != tt.want || c.Relative() != tt.relative {
			t.Errorf("%q from %d on %d CPUs = %d, %v (relative %v); want %d (relative %v)", tt.in, tt.cur, tt.cpus, got, err, c.Relative(), tt.want, tt.relative)
		}
	}
	for _, tt := range []struct {
		in        string
		cur, cpus int
		say       string
	}{
		{"-4", 4, 2, "leaves none"}, {"-5", 4, 2, "at most -3"}, {"+4096", 1, 2, "at most 4096"}, {"max-5", 4, 2, "leaves no worker"},
		{"0", 4, 2, "write max"}, {"+0", 4, 2, "want"}, {"-0", 4, 2, "want"}, {"++1", 4, 2, "want"}, {"+", 4, 2, "want"},
	} {
		c, err := ParseCount(tt.in)
		if err == nil {
			var n int
			n, err = c.Resolve(tt.cur, tt.cpus)
			if err == nil {
				t.Errorf("%q from %d on %d CPUs = %d; want an error that says %q", tt.in, tt.cur, tt.cpus, n, tt.say)
				continue
			}
		}
		if !strings.Contains(err.Error(), tt.say) {
			t.Errorf("%q from %d on %d CPUs: %v; want an error that says %q", tt.in, tt.cur, tt.cpus, err, tt.say)
		}
	}
}

func TestInfoLine(t *testing.T) {
	i := Info{Addr: "127.0.0.1:8080", Model: Prefork, Sched: SchedRR, Workers: 4, PID: 42}
	if got, want := i.Line(), "listening on http://127.0.0.1:8080 model=prefork sched=rr workers=4 pid=42"; got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
	if i.Name() != "prefork-rr" {
		t.Errorf("Name() = %q", i.Name())
	}
}
