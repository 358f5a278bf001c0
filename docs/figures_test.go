// Package docs holds no code: its tests check that the figures README.md
// and docs/workshop.md quote are in the committed files they come from,
// so the docs cannot drift from what was measured, and that every
// runnable command of README.md and docs/*.md runs (TestDocumentedCommands,
// against a bench built from the tree).
package docs

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The checked documents, from this directory.
var checkedDocs = []string{"../README.md", "workshop.md"}

// workshopDir holds what tools/workshop/run.sh wrote: every section of
// the workshop may quote its transcript and timings.
const workshopDir = "../results/reference-2core-epyc/workshop"

// staleFile lists the figures known not to match their sources, one
// "DOC<TAB>SECTION<TAB>FIGURE" a line: the docs were written from older
// runs. The test fails on a figure missing from its sources that is not
// listed, and on a listed one that now matches or is gone, so the list
// only shrinks. After rerunning the workshop, fix the figures and empty
// it; COREBENCH_FIGURES=strict checks as if it were empty,
// COREBENCH_FIGURES=update rewrites it with today's failures.
const staleFile = "testdata/figures-stale.txt"

// allowed are figures that come from no run, by design: settings the
// code applies and facts about the world. Keep it short, say why.
var allowed = map[string]string{
	"90%":    "bench attack's saturation threshold, a constant of the code",
	"95%":    "the report's kept-up threshold, a constant of the code",
	"0.2 ms": "/cpu's nominal cost, the workload's design",
	"20%":    "the VM's run-to-run noise, quoted from docs/performance.md's repeated runs",
	"80%":    "lesson 1's open loop under capacity, a share of the probed capacity the lesson asks for",
	"120%":   "lesson 1's open loop past capacity, a share of the probed capacity the lesson asks for",
}

// A figure is a number the docs present as measured: one with a unit, a
// thousands separator, or three significant digits or more.
type figure struct {
	text   string  // as written: "4,199", "7.62 ms", "37.4k"
	value  float64 // in its written unit, k and M applied: 4199, 7.62, 37400
	tol    float64 // half a unit of its last digit, in the same unit
	unit   string  // "ms", "s", "µs", "%", "MB", "req/s", "×", "times" or ""
	line   int
	offset int // in the line, to tell derivations' results apart
	end    int
	figure bool // a figure, not just a number
}

// num matches a number: thousands-separated or plain, with decimals; a k
// or M right after it multiplies; then an optional unit.
// goDuration is a Go duration of minutes or hours: 10m3s, 1h2m0s.
var goDuration = regexp.MustCompile(`\b(?:\d+h)?\d+m\d+(?:\.\d+)?s\b`)

var num = regexp.MustCompile(`(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(k|M)?(?:\s?(ms|µs|us|ns|s|MB|GB|KB|%|req/s|×|times))?`)

// parseFigures finds the numbers of one line of prose. A number inside a
// word (p99, SHA-256, 2nd, a version 1.26.8, a date 2026-12-01) is none.
func parseFigures(line string, n int) []figure {
	var out []figure
	for _, m := range num.FindAllStringSubmatchIndex(line, -1) {
		start, end := m[0], m[1]
		if prev, _ := utf8.DecodeLastRuneInString(line[:start]); start > 0 && (unicode.IsLetter(prev) || unicode.IsDigit(prev) || strings.ContainsRune(".-/_=:", prev)) {
			continue // p99, SHA-256, HTTP/2, GOMAXPROCS=1
		}
		if m[8] >= 0 {
			if next, _ := utf8.DecodeRuneInString(line[end:]); unicode.IsLetter(next) {
				m[8], m[9] = -1, -1 // "5 seconds": no unit s
				end = max(m[3], m[5], m[7])
			}
		}
		if next, _ := utf8.DecodeRuneInString(line[end:]); m[8] < 0 && unicode.IsLetter(next) {
			continue // 3rd, 6x, 4k-core: a word
		}
		if end+1 < len(line) && strings.ContainsRune(".-,", rune(line[end])) && isDigit(line[end+1]) {
			continue // 1.26.8, 2026-12-01, 1,2
		}
		if next, _ := utf8.DecodeRuneInString(line[min(end+1, len(line)):]); end < len(line) && line[end] == '-' && unicode.IsLetter(next) {
			continue // 128-core, 2-CPU: a size in a word
		}
		f, ok := figureAt(line, m)
		if !ok {
			continue
		}
		f.line, f.offset = n, start
		intPart := strings.ReplaceAll(line[m[2]:m[3]], ",", "")
		frac := ""
		if m[4] >= 0 {
			frac = line[m[4]:m[5]]
		}
		f.end = end
		sig := len(strings.TrimLeft(intPart+strings.TrimPrefix(frac, "."), "0"))
		f.figure = f.unit != "" || m[6] >= 0 || strings.Contains(line[m[2]:m[3]], ",") || sig >= 3
		out = append(out, f)
	}
	// The first number of a range has the second's unit: "1.5 to 1.8
	// times", "13.5 to 14.0 MB", "2.9k–3.0k req/s".
	for i := len(out) - 2; i >= 0; i-- {
		a, b := &out[i], out[i+1]
		between := line[a.end:b.offset]
		slash := between == " / " && !strings.Contains(line, " = ") // a table's "11.5 / 8.16 ms", not a derivation
		if a.unit == "" && b.unit != "" && (between == " to " || between == "–" || between == " and " || slash) {
			sep := " "
			if b.unit == "%" || b.unit == "×" {
				sep = ""
			}
			a.unit, a.figure, a.text = b.unit, true, a.text+sep+b.unit
		}
	}
	var figs []figure
	for _, f := range out {
		if f.figure {
			figs = append(figs, f)
		}
	}
	return figs
}

// figureAt reads the number num matched at m (with the unit as m says,
// which parseFigures may have cleared).
func figureAt(line string, m []int) (figure, bool) {
	intPart := strings.ReplaceAll(line[m[2]:m[3]], ",", "")
	frac := ""
	if m[4] >= 0 {
		frac = line[m[4]:m[5]]
	}
	v, err := strconv.ParseFloat(intPart+frac, 64)
	if err != nil {
		return figure{}, false
	}
	tol := 0.5
	if frac != "" {
		tol = 0.5 * math.Pow(10, -float64(len(frac)-1))
	}
	end := max(m[3], m[5])
	if m[6] >= 0 {
		switch line[m[6]:m[7]] {
		case "k":
			v, tol = v*1e3, tol*1e3
		case "M":
			v, tol = v*1e6, tol*1e6
		}
		end = m[7]
	}
	f := figure{value: v, tol: tol}
	if m[8] >= 0 {
		f.unit, end = line[m[8]:m[9]], m[9]
	}
	f.text = strings.TrimSpace(line[m[0]:end])
	return f, true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// timeScale converts a time unit to milliseconds.
var timeScale = map[string]float64{"s": 1e3, "ms": 1, "µs": 1e-3, "us": 1e-3, "ns": 1e-6}

// A class is what a number measures, told by its unit: a figure with a
// unit is looked for among the source's numbers of its class only, so
// that "66.1%" is not found in a latency of 66.1 ms. A figure without one
// is looked for in every class.
type class int

const (
	plain    class = iota // counts, req/s, indexes
	duration              // canonical unit: ms
	percent
	megabytes
	ratio // × or "times"
	numClasses
)

func classOf(unit string) class {
	switch {
	case timeScale[unit] != 0:
		return duration
	case unit == "%":
		return percent
	case unit == "MB":
		return megabytes
	case unit == "×" || unit == "times":
		return ratio
	}
	return plain
}

// canonical is f's value and tolerance in its class's unit.
func (f figure) canonical() (float64, float64) {
	if s := timeScale[f.unit]; s != 0 {
		return f.value * s, f.tol * s
	}
	return f.value, f.tol
}

// entry is a source's number: its value in its class's unit, and half a
// unit of its last digit (0 for JSON, which keeps every digit).
type entry struct{ v, tol float64 }

// sources is every number of the files a section may quote, by class.
type sources struct {
	files []string
	vals  [numClasses][]entry // sorted by v
}

func (s *sources) put(c class, v, tol float64) {
	s.vals[c] = append(s.vals[c], entry{math.Abs(v), tol})
}

func (s *sources) add(t *testing.T, path string) {
	t.Helper()
	if slices.Contains(s.files, path) {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v (a document links it)", path, err)
		return
	}
	s.addContent(t, path, b)
}

// addTranscriptPart adds what the transcript recorded for one lesson:
// from its "=== lesson N" line to the next lesson's.
func (s *sources) addTranscriptPart(t *testing.T, path, lesson string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	_, part, ok := strings.Cut(string(b), "\n=== lesson "+lesson+"\n")
	if !ok {
		t.Errorf("%s has no lesson %s", path, lesson)
		return
	}
	part, _, _ = strings.Cut(part, "\n=== lesson ")
	s.addContent(t, path+" (lesson "+lesson+")", []byte(part))
}

func (s *sources) addContent(t *testing.T, path string, b []byte) {
	s.files = append(s.files, path)
	if strings.HasSuffix(path, ".json") {
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		walkJSON("", "", doc, s)
	} else {
		for _, l := range strings.Split(string(b), "\n") {
			for _, f := range allNumbers(l) {
				v, tol := f.canonical()
				s.put(classOf(f.unit), v, tol)
			}
			for _, d := range goDuration.FindAllString(l, -1) { // report.md's 10m3s
				if v, err := time.ParseDuration(d); err == nil {
					s.put(duration, float64(v.Milliseconds()), 500)
				}
			}
		}
	}
	for c := range s.vals {
		slices.SortFunc(s.vals[c], func(a, b entry) int { return cmp.Compare(a.v, b.v) })
	}
}

// allNumbers is every number of a source line, whatever its digits.
func allNumbers(line string) []figure {
	var out []figure
	for _, m := range num.FindAllStringSubmatchIndex(line, -1) {
		if f, ok := figureAt(line, m); ok {
			out = append(out, f)
		}
	}
	return out
}

// walkJSON puts every number of a results document in its class, told by
// its key (p99_ms, duration_s, server_rss_bytes, a field of latency_ms),
// but its histograms' buckets and time series: thousands of numbers that
// would match any figure.
func walkJSON(parent, key string, v any, s *sources) {
	switch x := v.(type) {
	case float64:
		switch {
		case strings.HasSuffix(key, "_ms") || parent == "latency_ms":
			s.put(duration, x, 0)
		case strings.HasSuffix(key, "_s"):
			s.put(duration, x*1e3, 0)
		case strings.HasSuffix(key, "_bytes"):
			s.put(megabytes, x/1e6, 0)
			s.put(megabytes, x/(1<<20), 0)
		case strings.HasSuffix(key, "_mb"):
			s.put(megabytes, x, 0)
		default:
			s.put(plain, x, 0)
		}
	case []any:
		for _, e := range x {
			walkJSON(parent, key, e, s)
		}
	case map[string]any:
		for k, e := range x {
			if k != "histogram" && k != "timeseries" {
				walkJSON(key, k, e, s)
			}
		}
	}
}

// has reports whether a source holds a value d quotes: one that rounds to
// it and is written at least as precisely (4,199 quotes as 4.2k; 4.2k is
// no source for 4,199).
func (s *sources) has(d figure) bool {
	v, tol := d.canonical()
	classes := []class{classOf(d.unit)}
	if d.unit == "" || d.unit == "req/s" {
		// A table cell's unit is in its header or its neighbour: a share
		// (51.2 / 48.8), server MB. Never a latency or a ratio, which the
		// docs write with their unit.
		classes = []class{plain, percent, megabytes}
	}
	for _, c := range classes {
		es := s.vals[c]
		i, _ := slices.BinarySearchFunc(es, v-tol*1.0001, func(e entry, x float64) int { return cmp.Compare(e.v, x) })
		for ; i < len(es) && es[i].v <= v+tol*1.0001; i++ {
			if es[i].tol <= tol*1.0001 {
				return true
			}
		}
	}
	return false
}

// A derivation is a figure computed from others, written with its sum:
// "32 / 4,199 req/s = 7.62 ms". Its operands are figures like any other;
// its result is checked by arithmetic, in the result's unit, a time's
// milliseconds or seconds, or a percentage.
var derivation = regexp.MustCompile(`(\d[\d,]*(?:\.\d+)?k?)(?:\s?[a-zµ/%×]+)?\s([/×*+−-])\s(\d[\d,]*(?:\.\d+)?k?)(?:\s?[a-zµ/%×]+)?\s=\s(\d[\d,]*(?:\.\d+)?k?(?:\s?(?:ms|µs|s|%|×|req/s))?)`)

// checkDerivations returns the offsets of the results of the line's
// derivations, and an error for each whose arithmetic is wrong.
func checkDerivations(line string) (results map[int]bool, errs []string) {
	results = map[int]bool{}
	for _, m := range derivation.FindAllStringSubmatchIndex(line, -1) {
		a, okA := plainValue(line[m[2]:m[3]])
		b, okB := plainValue(line[m[6]:m[7]])
		rs := parseFigures(line[m[8]:m[9]], 0)
		if !okA || !okB || len(rs) == 0 {
			continue
		}
		r := rs[0]
		results[m[8]+r.offset] = true
		var got float64
		switch line[m[4]:m[5]] {
		case "/":
			got = a / b
		case "×", "*":
			got = a * b
		case "+":
			got = a + b
		default:
			got = a - b
		}
		ok := false
		for _, scale := range resultScales(r.unit) {
			if math.Abs(got*scale-r.value) <= r.tol*1.0001 {
				ok = true
			}
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("%q: the operands give %.6g", line[m[0]:m[1]], got))
		}
	}
	return results, errs
}

// resultScales are the factors from a derivation's operands to its
// result in the result's unit: seconds operands give milliseconds ×1e3
// (32 / 3,109 = 10.3 ms), milliseconds give seconds ×1e-3, a share gives
// a percentage ×100; a count or a ratio is as computed.
func resultScales(unit string) []float64 {
	switch unit {
	case "ms":
		return []float64{1, 1e3}
	case "s":
		return []float64{1, 1e-3}
	case "µs":
		return []float64{1, 1e3, 1e6}
	case "%":
		return []float64{1, 100}
	}
	return []float64{1}
}

func plainValue(s string) (float64, bool) {
	mult := 1.0
	if strings.HasSuffix(s, "k") {
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	return v * mult, err == nil
}

// A section is a "## " heading's text up to the next; its figures may
// come from the files it links under results/.
type section struct {
	doc, name string
	lines     []numberedLine
	links     []string // paths from docs/, of files under results/
}

type numberedLine struct {
	n, para int // para: the paragraph (or list) the line is in
	text    string
}

var (
	link       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	inlineCode = regexp.MustCompile("`[^`]*`")
)

// readSections splits doc into sections of prose: fenced blocks and
// inline code (commands, flags, settings) are left out, and so are
// headings and link targets.
func readSections(t *testing.T, doc string) []*section {
	f, err := os.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cur := &section{doc: filepath.Base(doc), name: "top"}
	out := []*section{cur}
	sc := bufio.NewScanner(f)
	n, para, fenced := 0, 0, false
	for sc.Scan() {
		n++
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h, ok := strings.CutPrefix(l, "## "); ok {
			name := h
			if i := strings.Index(h, ". "); i > 0 && isDigit(h[0]) {
				name = "lesson " + h[:i]
			}
			cur = &section{doc: filepath.Base(doc), name: name}
			out = append(out, cur)
			continue
		}
		for _, m := range link.FindAllStringSubmatch(l, -1) {
			p := strings.SplitN(m[1], "#", 2)[0]
			if doc == checkedDocs[0] {
				p = filepath.Join("..", p)
			} else {
				p = filepath.Join(filepath.Dir(doc), p)
			}
			if strings.Contains(p, "results/") {
				cur.links = append(cur.links, filepath.Clean(p))
			}
		}
		if strings.TrimSpace(l) == "" {
			para++
		}
		l = link.ReplaceAllString(l, "]")
		l = inlineCode.ReplaceAllString(l, "``")
		cur.lines = append(cur.lines, numberedLine{n, para, l})
	}
	return out
}

// sourcesOf returns the files a section may quote: for the workshop the
// transcript (a lesson, its own part of it) and the timings, and for every
// section the results files it links; a linked chart or run directory
// stands for its run's report.md.
func sourcesOf(t *testing.T, s *section) *sources {
	src := &sources{}
	if s.doc == "workshop.md" {
		// A lesson quotes its own part of the transcript: figures of another
		// lesson's run are no measurement of this one's.
		if n, ok := strings.CutPrefix(s.name, "lesson "); ok {
			src.addTranscriptPart(t, filepath.Join(workshopDir, "transcript.txt"), n)
		} else {
			src.add(t, filepath.Join(workshopDir, "transcript.txt"))
		}
		src.add(t, filepath.Join(workshopDir, "timings.tsv"))
	}
	for _, p := range s.links {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			t.Errorf("%s, %s: links to %s, which is not there", s.doc, s.name, p)
		case fi.IsDir():
			addRun(t, src, p)
		case strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".txt") || strings.HasSuffix(p, ".tsv") || strings.HasSuffix(p, ".json"):
			src.add(t, p)
		default: // a chart: the run it was drawn from
			dir := filepath.Dir(p)
			if filepath.Base(dir) == "charts" {
				dir = filepath.Dir(dir)
			}
			addRun(t, src, dir)
		}
	}
	return src
}

// addRun adds a run's report.md, or its results.json where it has no
// report: the report shows each figure at the precision the docs quote,
// where results.json's thousands of full-precision numbers would match
// almost any figure by chance. A section that quotes results.json links
// it.
func addRun(t *testing.T, src *sources, dir string) {
	for _, f := range []string{"report.md", "results.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			src.add(t, filepath.Join(dir, f))
			return
		}
	}
}

// TestDocFigures: every figure README.md and docs/workshop.md present
// as measured is in a committed file its section names (see sourcesOf),
// or is derived there from such figures with its arithmetic written out,
// or is allowed above, or is listed as known stale.
func TestDocFigures(t *testing.T) {
	mode := os.Getenv("COREBENCH_FIGURES")
	stale := map[string]bool{}
	if mode != "strict" {
		stale = readStale(t)
	}
	var failures []string // "DOC<TAB>SECTION<TAB>FIGURE"
	seen := map[string]bool{}
	checked := 0
	used := map[string]bool{}
	for _, doc := range checkedDocs {
		for _, s := range readSections(t, doc) {
			src := sourcesOf(t, s)
			// A paragraph that names another lesson ("as in lesson 4") may
			// quote that lesson's part of the transcript too.
			others := map[int][]*sources{}
			if s.doc == "workshop.md" {
				for _, l := range s.lines {
					for _, n := range lessonsNamed(l.text) {
						if "lesson "+n != s.name {
							o := &sources{}
							o.addTranscriptPart(t, filepath.Join(workshopDir, "transcript.txt"), n)
							others[l.para] = append(others[l.para], o)
						}
					}
				}
			}
			for _, l := range s.lines {
				derived, errs := checkDerivations(l.text)
				for _, e := range errs {
					t.Errorf("%s:%d: wrong arithmetic: %s", s.doc, l.n, e)
				}
				for _, f := range parseFigures(l.text, l.n) {
					if allowed[f.text] != "" {
						used[f.text] = true
						continue
					}
					if derived[f.offset] {
						continue
					}
					checked++
					if src.has(f) || slices.ContainsFunc(others[l.para], func(o *sources) bool { return o.has(f) }) {
						continue
					}
					key := s.doc + "\t" + s.name + "\t" + f.text
					if seen[key] {
						continue
					}
					seen[key] = true
					failures = append(failures, key)
					if !stale[key] && mode != "update" {
						t.Errorf("%s:%d (%s): %s is in none of %s\n\t%s", s.doc, l.n, s.name, f.text, strings.Join(src.files, ", "), strings.TrimSpace(l.text))
					}
				}
			}
		}
	}
	for k := range allowed {
		if !used[k] {
			t.Errorf("allowed figure %q appears nowhere: remove it from the list", k)
		}
	}
	for k := range stale {
		if !seen[k] && mode != "update" {
			t.Errorf("%s: %q now matches its sources or is gone: remove it from the list", staleFile, k)
		}
	}
	t.Logf("%d figures checked, %d not in their sources (%d listed as known stale in %s)", checked, len(failures), len(stale), staleFile)
	if mode == "update" {
		writeStale(t, failures)
	}
}

func readStale(t *testing.T) map[string]bool {
	b, err := os.ReadFile(staleFile)
	if os.IsNotExist(err) {
		return map[string]bool{}
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out[l] = true
		}
	}
	return out
}

func writeStale(t *testing.T, failures []string) {
	head := "# Figures of the docs not found in the files they come from (docs/figures_test.go).\n" +
		"# Known stale: the docs were written from older runs. Fix each after rerunning the\n" +
		"# workshop (tools/workshop/run.sh) and delete its line; the test fails on any other.\n"
	if err := os.WriteFile(staleFile, []byte(head+strings.Join(failures, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d figures", staleFile, len(failures))
}

var lessonRef = regexp.MustCompile(`[Ll]essons? (\d+)((?:(?:, | and | to )\d+)*)`)

// lessonsNamed returns the lessons a line names: "lesson 4", "lessons 2
// and 3", "Lessons 1 to 3" (each one of them).
func lessonsNamed(line string) []string {
	var out []string
	for _, ix := range lessonRef.FindAllStringSubmatchIndex(line, -1) {
		m := []string{line[ix[0]:ix[1]], line[ix[2]:ix[3]], line[ix[4]:ix[5]]}
		nums := regexp.MustCompile(`\d+`).FindAllString(m[1]+m[2], -1)
		if ix[1] < len(line) && strings.ContainsRune(".%", rune(line[ix[1]])) && len(nums) > 1 {
			nums = nums[:len(nums)-1] // "lesson 4, 17.1%": a figure, not a lesson
		}
		if strings.Contains(m[2], " to ") && len(nums) == 2 {
			a, _ := strconv.Atoi(nums[0])
			b, _ := strconv.Atoi(nums[1])
			nums = nil
			for i := a; i <= b; i++ {
				nums = append(nums, strconv.Itoa(i))
			}
		}
		out = append(out, nums...)
	}
	return out
}
