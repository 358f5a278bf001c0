package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// lessonTime is one line of timings.tsv.
type lessonTime struct{ lesson, seconds, title string }

// readTimings reads what tools/workshop/run.sh wrote: each lesson's
// machine time, then the total.
func readTimings(t *testing.T) ([]lessonTime, string) {
	b, err := os.ReadFile(filepath.Join(workshopDir, "timings.tsv"))
	if err != nil {
		t.Fatalf("%v: tools/workshop/run.sh writes it (TIMINGS=1 from an existing transcript)", err)
	}
	var out []lessonTime
	total := ""
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		for len(f) < 3 {
			f = append(f, "")
		}
		if f[0] == "total" {
			total = f[1]
		} else {
			out = append(out, lessonTime{f[0], f[1], f[2]})
		}
	}
	if total == "" || len(out) == 0 {
		t.Fatalf("%s/timings.tsv has no lessons or no total", workshopDir)
	}
	return out, total
}

// timingTable is the Timing section's table as timings.tsv says it.
func timingTable(lessons []lessonTime, total string) string {
	var b strings.Builder
	b.WriteString("| lesson | machine time |\n|---|---:|\n")
	for _, l := range lessons {
		fmt.Fprintf(&b, "| %s. %s | %s s |\n", l.lesson, l.title, l.seconds)
	}
	fmt.Fprintf(&b, "| **total** | **%s s** |\n", total)
	return b.String()
}

var timeLine = regexp.MustCompile(`^\*\*Time:\*\* ([0-9.]+) s\.`)

// TestTimingTable: docs/workshop.md's Timing table is timings.tsv, lesson
// by lesson with the total, and each lesson's "**Time:**" line is its
// own lesson's time; on a difference the test prints the table to paste.
func TestTimingTable(t *testing.T) {
	lessons, total := readTimings(t)
	b, err := os.ReadFile("workshop.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, timing, ok := strings.Cut(doc, "\n## Timing\n")
	if !ok {
		t.Fatal("workshop.md has no ## Timing section")
	}
	var table []string
	for _, l := range strings.Split(timing, "\n") {
		if strings.HasPrefix(l, "## ") {
			break
		}
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	want := timingTable(lessons, total)
	if got := strings.Join(table, "\n") + "\n"; got != want {
		t.Errorf("the Timing table of workshop.md is not %s/timings.tsv; it should read:\n%s", workshopDir, want)
	}
	secs := map[string]string{}
	for _, l := range lessons {
		secs[l.lesson] = l.seconds
	}
	for _, s := range readSections(t, "workshop.md") {
		n, ok := strings.CutPrefix(s.name, "lesson ")
		if !ok {
			continue
		}
		found := false
		for _, l := range s.lines {
			if m := timeLine.FindStringSubmatch(l.text); m != nil {
				found = true
				if m[1] != secs[n] {
					t.Errorf("workshop.md:%d: lesson %s says **Time:** %s s; timings.tsv has %q", l.n, n, m[1], secs[n])
				}
			}
		}
		if !found && secs[n] != "" {
			t.Errorf("workshop.md: lesson %s has no **Time:** line; timings.tsv has %s s", n, secs[n])
		}
		delete(secs, n)
	}
	for n := range secs {
		t.Errorf("timings.tsv has lesson %s, which workshop.md does not", n)
	}
}
