package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

// TestScenarioOverlayUsage: --overlay is checked before any load runs:
// only for stall, a directory holding a stall of the same model, measured
// by the other loop; anything else is a usage error naming the problem.
func TestScenarioOverlayUsage(t *testing.T) {
	dir := t.TempDir()
	if _, err := (&results.Scenario{Scenario: "stall", Model: "singlecore", Rate: 2000}).Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scenario", "crash", "--overlay", dir}, "for the stall scenario"},
		{[]string{"scenario", "stall", "--model", "singlecore", "--overlay", t.TempDir()}, "--overlay:"},
		{[]string{"scenario", "stall", "--model", "singlecore", "--overlay", dir}, "the other loop"},
		{[]string{"scenario", "stall", "--model", "goroutines", "--closed", "--overlay", dir}, "the other loop"},
	} {
		var out, errb bytes.Buffer
		if code := Main(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("bench %s: exit %d, stderr %q; want 2 and %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
}
