package report

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/results"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")
	keep   = flag.String("keep", "", "also render the fixture's report into this directory, to look at it")
)

func loadFixture(t testing.TB) *results.Run {
	t.Helper()
	run, err := results.Load(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	assess.Run(run) // the fixture predates limited_by, as a report derives it
	return run
}

// renderFixture renders the fixture once per test binary.
func renderFixture(t *testing.T) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	files, err := Render(loadFixture(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if *keep != "" {
		if _, err := Render(loadFixture(t), *keep); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// The charts the fixture has data for: every kind for cpu; for hello no
// rate, worker or COST chart (the fixture sweeps those on cpu only).
var fixtureCharts = []string{
	"rps-hello", "latency-hello", "cpu-hello", "fairness-hello", "scaling-connections-hello",
	"rps-cpu", "latency-cpu", "cpu-cpu", "fairness-cpu", "scaling-connections-cpu",
	"latency-vs-load-cpu", "scaling-workers-cpu", "cost-cpu",
}

func TestRenderGolden(t *testing.T) {
	dir, files := renderFixture(t)

	want := []string{"bench.txt", "report.html", "report.md"}
	for _, c := range fixtureCharts {
		want = append(want, "charts/"+c+".png", "charts/"+c+".svg")
	}
	slices.Sort(want)
	var got, returned []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		returned = append(returned, filepath.ToSlash(rel))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("files in the report directory:\n got %q\nwant %q", got, want)
	}
	if returned[0] != "report.md" || !slices.Equal(slices.Sorted(slices.Values(returned)), want) {
		t.Errorf("Render returned %q, want report.md first and then the rest of %q", returned, want)
	}

	for _, name := range []string{"report.md", "bench.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name+".golden")
		if *update {
			if err := os.WriteFile(golden, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./report -run Golden -update to create it)", err)
		}
		if !bytes.Equal(b, w) {
			t.Errorf("%s differs from %s (go test ./report -run Golden -update rewrites it after a deliberate change):\n%s",
				name, golden, firstDiff(string(w), string(b)))
		}
	}

	for _, c := range fixtureCharts {
		checkPNG(t, filepath.Join(dir, "charts", c+".png"))
		svg, err := os.ReadFile(filepath.Join(dir, "charts", c+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte("<svg")) || bytes.Count(svg, []byte("<path")) < 10 {
			t.Errorf("%s.svg does not look like a chart", c)
		}
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + w + "\n  got: " + g
		}
	}
	return "(no line differs)"
}

// checkPNG checks a chart's PNG is 1600×900 and not blank.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != 1600 || b.Dy() != 900 {
		t.Errorf("%s is %dx%d, want 1600x900", path, b.Dx(), b.Dy())
	}
	if share := inkShare(img); share < 0.02 {
		t.Errorf("%s is nearly blank: %.1f%% of its pixels are not white", path, 100*share)
	}
}

// inkShare returns the share of pixels that are not (nearly) white.
func inkShare(img image.Image) float64 {
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	return float64(ink) / float64((b.Dx()+1)/2*((b.Dy()+1)/2))
}
