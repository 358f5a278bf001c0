package suite

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/corebench/corebench/results"
)

// sysfsTree writes files (path under devices/system/cpu: content) into a
// fake /sys.
func sysfsTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, v := range files {
		full := filepath.Join(root, "devices", "system", "cpu", p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestMachineNoise(t *testing.T) {
	gov := func(g ...string) map[string]string {
		m := map[string]string{}
		for i, v := range g {
			m[filepath.Join("cpu"+strconv.Itoa(i), "cpufreq", "scaling_governor")] = v
		}
		return m
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	ne := results.NotExposed
	tests := []struct {
		name  string
		files map[string]string
		want  results.Noise
	}{
		{"a VM without cpufreq", map[string]string{"cpu0/topology/core_id": "0", "smt/control": "notsupported"}, results.Noise{Governor: ne, Boost: ne}},
		{"nothing at all", nil, results.Noise{Governor: ne, Boost: ne}},
		{"intel, performance, turbo on, SMT on", with(gov("performance", "performance"), "intel_pstate/no_turbo", "0", "smt/control", "on"),
			results.Noise{Governor: "performance", Boost: "on"}},
		{"intel, turbo off", with(gov("powersave"), "intel_pstate/no_turbo", "1", "smt/control", "off"), results.Noise{Governor: "powersave", Boost: "off"}},
		{"amd boost on", with(gov("schedutil"), "cpufreq/boost", "1", "smt/control", "forceoff"), results.Noise{Governor: "schedutil", Boost: "on"}},
		{"amd boost off", with(gov("performance"), "cpufreq/boost", "0"), results.Noise{Governor: "performance", Boost: "off"}},
		// cpu10 sorts before cpu2 as a name: the governors come in CPU order.
		{"mixed governors", gov("powersave", "powersave", "performance", "performance", "performance", "performance", "performance", "performance", "performance", "performance", "powersave"),
			results.Noise{Governor: "powersave (0-1,10), performance (2-9)", Boost: ne}},
	}
	for _, tt := range tests {
		if got := MachineNoise(sysfsTree(t, tt.files)); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
