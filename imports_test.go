package corebench_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/corebench/corebench/"

// A row says which packages of the module pkg (a path, or "x/..." for x
// and everything under it) may import; "*" is any.
type row struct {
	pkg     string
	imports []string
}

// allowed is who may import whom inside the module, as ARCHITECTURE.md
// draws it. Every package of the module must match a row; the first that
// does applies.
var allowed = []row{
	{"cmd/...", []string{"*"}},   // the CLI wires everything
	{"tools/...", []string{"*"}}, // commands that regenerate committed results
	// The record format, the servers' vocabulary and the handler they
	// serve are leaves, so every package may use them.
	{"results", nil},
	{"variant", nil},
	{"workload", nil},
	{"stats", []string{"results"}}, // what the records sum up to
	{"assess", []string{"results", "stats", "variant"}}, // the judgement of them
	// The report renders records: its statistics, verdicts and servers'
	// names come from the packages above, its document model, chart
	// primitives and number formats are its own.
	{"report", []string{"results", "stats", "assess", "variant", "report/internal/..."}},
	{"report/internal/...", []string{"report/internal/..."}},
	// The generator measures; it knows no model.
	{"loadgen", []string{"results", "stats", "internal/..."}},
	// The suite and the scenarios drive servers as processes (bench
	// serve) and the generator; a scenario reaches a prefork master
	// through its control client, never the model itself.
	{"suite", []string{"results", "stats", "assess", "variant", "loadgen", "internal/..."}},
	{"scenario", []string{"results", "stats", "variant", "loadgen", "workload", "models/prefork/control", "internal/..."}},
	// The control socket's client and wire types need nothing of the
	// master, so that their importers do not get the model with them.
	{"models/prefork/control", []string{"models"}},
	// The models serve the workload; they know nothing of measuring. Their
	// conformance suite tests each built-in variant, by its vocabulary.
	{"models/modeltest", []string{"models/...", "workload", "variant", "internal/..."}},
	{"models/...", []string{"models/...", "workload", "internal/..."}},
	{"internal/remote", []string{"loadgen", "results", "stats", "internal/..."}},
	{"internal/vmtest/...", []string{"results", "internal/..."}},
	{"internal/...", []string{"internal/..."}},
	{"docs", nil},
}

// only lists packages from outside the module that only some packages
// may import: flags are the CLI's, drawing is the report's, vegeta is
// the generator's (and the CLI's, which reads its files).
var only = []struct {
	imported string   // a path or "x/..."
	by       []string // the packages that may import it
}{
	{"github.com/spf13/pflag", []string{"cmd/bench"}},
	{"gonum.org/v1/plot/...", []string{"report/..."}},
	{"image/...", []string{"report/..."}},
	{"golang.org/x/image/...", []string{"report/..."}},
	{"github.com/tsenart/vegeta/...", []string{"loadgen", "cmd/bench"}},
}

// match reports whether path matches pattern: equal, "*", or "x/..." for
// x and everything under it.
func match(pattern, path string) bool {
	if pattern == "*" || pattern == path {
		return true
	}
	prefix, ok := strings.CutSuffix(pattern, "/...")
	return ok && (path == prefix || strings.HasPrefix(path, prefix+"/"))
}

// goTool is the go command that runs the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// imports lists the packages of the module with their imports (not their
// tests'), module paths trimmed; with -deps, every package they need.
func imports(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goTool(), append([]string{"list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

// TestImports checks the layering: every import inside the module is an
// edge of allowed, and flags, drawing and vegeta stay in their packages.
func TestImports(t *testing.T) {
	for path, imps := range imports(t, "./...") {
		pkg, ok := strings.CutPrefix(path, module)
		if !ok {
			continue
		}
		i := slices.IndexFunc(allowed, func(r row) bool { return match(r.pkg, pkg) })
		if i < 0 {
			t.Errorf("%s is in no row of allowed: add it, and to ARCHITECTURE.md", pkg)
			continue
		}
		for _, imp := range imps {
			if dep, ok := strings.CutPrefix(imp, module); ok {
				if r := allowed[i]; !slices.ContainsFunc(r.imports, func(p string) bool { return match(p, dep) }) {
					t.Errorf("%s imports %s: %s may import only %v", pkg, dep, r.pkg, r.imports)
				}
				continue
			}
			for _, o := range only {
				if match(o.imported, imp) && !slices.ContainsFunc(o.by, func(p string) bool { return match(p, pkg) }) {
					t.Errorf("%s imports %s, which only %v may", pkg, imp, o.by)
				}
			}
		}
	}
}

// TestResultsIsALeaf: the record format needs nothing of the module, and
// draws nothing, however deep one looks.
func TestResultsIsALeaf(t *testing.T) {
	for path := range imports(t, "-deps", "./results") {
		if strings.HasPrefix(path, module) && path != module+"results" ||
			match("image/...", path) || match("gonum.org/v1/plot/...", path) || match("golang.org/x/image/...", path) {
			t.Errorf("results depends on %s", path)
		}
	}
}
