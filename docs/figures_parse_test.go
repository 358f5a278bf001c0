package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseFigures: numbers with a unit, a thousands separator or three
// significant digits are figures; numbers inside words, versions, dates
// and small bare numbers are not.
func TestParseFigures(t *testing.T) {
	line := "p99 of 1,703 ms and 37.4k req/s, 0.907 (Jain), −6.19%, 2.12 times; SHA-256, Go 1.26.8, 2026-12-01, 4 workers, 32 connections, 5 seconds, 8.24 s"
	var got []string
	for _, f := range parseFigures(line, 1) {
		got = append(got, f.text)
	}
	want := "1,703 ms|37.4k req/s|0.907|6.19%|2.12 times|8.24 s"
	if strings.Join(got, "|") != want {
		t.Errorf("figures %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestSourcesHave: a figure is found when a source number of its class
// rounds to it and is written at least as precisely; not otherwise.
func TestSourcesHave(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "transcript.txt")
	os.WriteFile(txt, []byte("5,587 requests in 5.00 s: 4,199 req/s\nmean 7.617 ms  cpu0 57%\nshare 66.1%\n13.5 MB\nrps 4.2k\n"), 0o644)
	js := filepath.Join(dir, "results.json")
	os.WriteFile(js, []byte(`{"duration_s": 8.2398, "latency_ms": {"p99": 466.4}, "rps": 1117.2, "histogram": {"counts": [9999]}}`), 0o644)
	src := &sources{}
	src.add(t, txt)
	src.add(t, js)
	for text, want := range map[string]bool{
		"4,199": true, "4.2k": true, "4.20k": true, "4,200": false, // 4.2k is no source for 4,200
		"7.62 ms": true, "7.61 ms": false, "0.00762 s": true,
		"66.1%": true, "66.1 ms": false, "66.2%": false, "57%": true,
		"8.24 s": true, "8,240 ms": true, "466 ms": true, "0.466 s": true,
		"1,117": true, "13.5 MB": true, "9,999": false, // histogram buckets are no source
	} {
		fs := parseFigures(text, 1)
		if len(fs) != 1 {
			t.Errorf("%q: %d figures, want 1", text, len(fs))
			continue
		}
		if got := src.has(fs[0]); got != want {
			t.Errorf("%q found %v, want %v", text, got, want)
		}
	}
}

// TestDerivations: a derivation's result is checked by arithmetic, in
// its unit, milliseconds or percent; a wrong one is reported.
func TestDerivations(t *testing.T) {
	for line, wantErr := range map[string]bool{
		"Little's law: 32 / 4,199 req/s = 7.62 ms, the mean": false,
		"Little's law: 32 / 4,199 req/s = 7.70 ms, the mean": true,
		"100 / 820 = 122 ms":         false,
		"5.69k / 3.28k = 1.73 times": false,
		"6.31k / 2.98k = 2.21 times": true,
		"2 × 1.5 = 3.00":             false,
		"2 × 1.5 = 3,000":            true, // no unit to scale a count by
		"0.5 / 2 = 25 ms":            true, // 0.25 s is 250 ms
		"0.5 s / 6 s = 8.33%":        false,
		"3.00 − 5.00 = 2.00":         true, // the sign counts
	} {
		derived, errs := checkDerivations(line)
		if len(derived) != 1 || (len(errs) > 0) != wantErr {
			t.Errorf("%q: %d derivations, errors %q; want 1, error %v", line, len(derived), errs, wantErr)
		}
	}
}
