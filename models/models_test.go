package models

import "testing"

func TestParseWorkers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		cpus int
		want int
	}{
		{"4", 2, 4}, {"max", 8, 8}, {"max-1", 8, 7}, {"max-1", 1, 1}, {"max-0", 3, 3},
		{"0", 6, 6}, {"-1", 6, 5}, {"-10", 6, 1},
	} {
		got, err := ParseWorkers(tt.in, tt.cpus)
		if err != nil || got != tt.want {
			t.Errorf("ParseWorkers(%q, %d) = %d, %v; want %d", tt.in, tt.cpus, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "many", "max+1", "max-x", "max--1", "5000"} {
		if _, err := ParseWorkers(bad, 4); err == nil {
			t.Errorf("ParseWorkers(%q) accepted", bad)
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
