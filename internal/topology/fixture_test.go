package topology

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
)

var update = flag.Bool("update", false, "rewrite testdata/ from the fixture specs")

// fixture describes a machine whose sysfs tree testdata/<name> holds.
type fixture struct {
	name                     string
	packages, cores, threads int  // cores per package, threads per core
	neighbours               bool // siblings numbered 0,1 rather than N and N+cores
	smt                      string
}

// fixtures are the machines of issue 12. One NUMA node per package.
var fixtures = []fixture{
	{name: "2socket-smt", packages: 2, cores: 16, threads: 2, smt: "on"},
	{name: "neighbours", packages: 1, cores: 8, threads: 2, neighbours: true, smt: "on"},
	{name: "laptop", packages: 1, cores: 2, threads: 2, smt: "on"},
	{name: "16core-nosmt", packages: 1, cores: 16, threads: 1, smt: "notsupported"},
}

// cpu numbers hardware thread t of core c of package p as Linux does on
// most x86 boxes (first threads of every core, then the second threads),
// or with a core's threads next to each other.
func (f fixture) cpu(p, c, t int) int {
	if f.neighbours {
		return (p*f.cores+c)*f.threads + t
	}
	return t*f.packages*f.cores + p*f.cores + c
}

// files returns the tree: path relative to the root, then contents.
func (f fixture) files() map[string]string {
	out := map[string]string{}
	n := f.packages * f.cores * f.threads
	out["devices/system/cpu/online"] = fmt.Sprintf("0-%d\n", n-1)
	out["devices/system/cpu/possible"] = fmt.Sprintf("0-%d\n", n-1)
	out["devices/system/cpu/smt/control"] = f.smt + "\n"
	for p := range f.packages {
		var node []int
		for c := range f.cores {
			var sib []int
			for t := range f.threads {
				sib = append(sib, f.cpu(p, c, t))
			}
			for t := range f.threads {
				dir := fmt.Sprintf("devices/system/cpu/cpu%d/topology/", f.cpu(p, c, t))
				out[dir+"core_id"] = fmt.Sprintf("%d\n", c)
				out[dir+"physical_package_id"] = fmt.Sprintf("%d\n", p)
				out[dir+"core_cpus_list"] = affinity.Format(sortedCopy(sib)) + "\n"
				out[dir+"thread_siblings_list"] = affinity.Format(sortedCopy(sib)) + "\n"
			}
			node = append(node, sib...)
		}
		out[fmt.Sprintf("devices/system/node/node%d/cpulist", p)] = affinity.Format(sortedCopy(node)) + "\n"
	}
	return out
}

func sortedCopy(cpus []int) []int { return slices.Sorted(slices.Values(cpus)) }

// TestFixturesCommitted checks testdata/ holds exactly the trees the
// specs describe (go test -run TestFixturesCommitted -update rewrites
// them), so the committed files and the specs the tests reason with
// cannot drift apart.
func TestFixturesCommitted(t *testing.T) {
	for _, f := range fixtures {
		root := filepath.Join("testdata", f.name)
		want := f.files()
		if *update {
			os.RemoveAll(root)
			for p, s := range want {
				if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			got[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for p, s := range want {
			if got[p] != s {
				t.Errorf("%s/%s = %q, want %q (go test ./internal/topology -run TestFixturesCommitted -update)", root, p, got[p], s)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s holds %d files, the spec %d", root, len(got), len(want))
		}
	}
}
