package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
)

// TestReportRunJSON: bench report DIR --json renders the report and
// prints the run as one JSON object, as read (--json was ignored: the
// files written were listed).
func TestReportRunJSON(t *testing.T) {
	dir := saveRun(t, testRun("run1", map[string][]float64{"singlecore": {1000, 1100}, "goroutines": {1900, 2000}}))
	st, stdout, stderr := modeltest.RunToExit(t, bench("report", dir, "--json"))
	if st != 0 {
		t.Fatalf("status %d: %s", st, stderr)
	}
	var r results.Run
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("stdout is not one JSON object on one line (%v):\n%.300s", err, stdout)
	}
	if r.ID != "run1" || len(r.Cases) != 2 || r.Cases[0].Summary == nil {
		t.Errorf("the run printed: id %q, %d cases", r.ID, len(r.Cases))
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err != nil {
		t.Errorf("no report written: %v", err)
	}
}

// TestReportNotWholeRun: a results.json of this schema that holds no run
// (`{"schema":2}` rendered as an "Incomplete run" of 0 cases where "every
// case ran") is one line and status 1, as a damaged one is.
func TestReportNotWholeRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(`{"schema":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, stdout, stderr := modeltest.RunToExit(t, bench("report", dir))
	if st != 1 || stdout != "" || !isOneLine(stderr) || !strings.Contains(stderr, "is not a whole results file") {
		t.Errorf("status %d, stdout %q, stderr %q; want status 1 and one line", st, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.md")); err == nil {
		t.Error("a report was written")
	}
}
