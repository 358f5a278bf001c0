package proc

import "testing"

func TestParsePidStat(t *testing.T) {
	// A command name may hold spaces and parentheses.
	st, ok := parsePidStat("4242 (bench (x) y) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 0 0\n")
	if !ok || st != (Stat{Comm: "bench (x) y", State: 'S', PGrp: 4240, CPU: 3.25}) {
		t.Errorf("got %+v, %v; want bench (x) y, S, group 4240, 3.25 s", st, ok)
	}
	for _, bad := range []string{"", "4242 bench S 1", "4242 (bench) S 1 2 3"} {
		if st, ok := parsePidStat(bad); ok {
			t.Errorf("%q parsed: %+v", bad, st)
		}
	}
}

// TestCPUSince: per process, a process born since counting from its
// birth, one gone lost rather than taken away, none below 0.
func TestCPUSince(t *testing.T) {
	before := CPU{1: 1.0, 2: 5.0, 3: 2.0, 4: 9.0}
	after := CPU{1: 1.5, 2: 5.25, 5: 0.5, 4: 0.125} // 3 gone, 5 born, 4 a reused pid
	if got := after.Since(before); got != 0.5+0.25+0.5 {
		t.Errorf("Since = %v, want 1.25", got)
	}
	if got := after.Since(nil); got != 1.5+5.25+0.5+0.125 {
		t.Errorf("Since(nil) = %v, want every process from its birth", got)
	}
}
