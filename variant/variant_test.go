package variant

import (
	"strings"
	"testing"
)

// TestVariants: every built-in variant has its own name and a serve
// line; its name parses back to it. (Its colour and marker are the
// report's: TestPalette.)
func TestVariants(t *testing.T) {
	names := map[string]bool{}
	for i, v := range All() {
		if v.Name == "" || names[v.Name] {
			t.Errorf("variant %d: name %q empty or taken", i, v.Name)
		}
		names[v.Name] = true
		if v.External() || len(v.ServeArgs(2)) == 0 {
			t.Errorf("%s: no serve line", v)
		}
		if p, err := Parse(v.Name); err != nil || p != v {
			t.Errorf("Parse(%q) = %v, %v", v.Name, p, err)
		}
		if Rank(v.Name) != i {
			t.Errorf("%s: rank %d, want %d", v, Rank(v.Name), i)
		}
	}
	if Rank("node-cluster") != len(All()) {
		t.Errorf("an external server does not rank after the built-in variants")
	}
}

func TestParseVariantRejects(t *testing.T) {
	for _, name := range []string{"", "prefork", "threads", "prefork-random", "Singlecore"} {
		_, err := Parse(name)
		if err == nil {
			t.Errorf("Parse(%q) accepted", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "prefork-sticky") || !strings.Contains(msg, "singlecore, ") {
			t.Errorf("Parse(%q): %q, want one line naming every variant", name, msg)
		}
	}
}

func TestServeArgs(t *testing.T) {
	for _, tt := range []struct {
		v    Variant
		want string
	}{
		{SingleCore, "--model singlecore"},
		{Goroutines, "--model goroutines --workers 4"},
		{PreforkRR, "--model prefork --sched rr --workers 4"},
		{PreforkSticky, "--model prefork --sched sticky --workers 4"},
		{Variant{Name: "node-cluster"}, ""},
	} {
		if got := strings.Join(tt.v.ServeArgs(4), " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.v, got, tt.want)
		}
	}
	if SingleCore.Workers(4) != 1 || PreforkOS.Workers(4) != 4 || !Goroutines.OneProcess() || PreforkRR.OneProcess() || !PreforkReusePort.Prefork() {
		t.Errorf("the variants' workers and processes are wrong")
	}
}

// TestParseServer: NAME=COMMAND with a lower-case name no built-in
// variant has; the variant is external, takes workers only when its
// command says {workers}, and fills in its placeholders.
func TestParseServer(t *testing.T) {
	v, err := ParseServer("node-rr=NODE_CLUSTER_SCHED_POLICY=rr node server.js --port {port} --workers {workers} --cpus {cpus}")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "node-rr" || !v.External() || !v.TakesWorkers() || v.Workers(4) != 4 || v.ServeArgs(4) != nil {
		t.Errorf("%+v: want an external server told its workers", v)
	}
	if got := v.Expand(8080, 4, "0-3"); got != "NODE_CLUSTER_SCHED_POLICY=rr node server.js --port 8080 --workers 4 --cpus 0-3" {
		t.Errorf("Expand = %q", got)
	}
	py, _ := ParseServer("py=python3 server.py --port {port}")
	if py.TakesWorkers() || py.Workers(4) != 0 {
		t.Errorf("a command without {workers}: takes workers %v, workers %d; want no and 0 (unknown)", py.TakesWorkers(), py.Workers(4))
	}
	for spec, want := range map[string]string{
		"node":                 "want NAME=COMMAND",
		"node=":                "want NAME=COMMAND",
		"=node server.js":      "no NAME",
		"Node=node server.js":  "use lower-case letters",
		"my node=x":            "use lower-case letters",
		"prefork-rr=node x.js": "is a built-in model",
	} {
		if _, err := ParseServer(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseServer(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
	servers := []Variant{v, py}
	if err := ParseReady(servers, `py=^listening on`); err != nil || servers[1].Ready != "^listening on" {
		t.Errorf("ParseReady: %v, %+v", err, servers[1])
	}
	for spec, want := range map[string]string{"py": "want NAME=REGEXP", "py=(": "missing closing", "go=x": "names no --server"} {
		if err := ParseReady(servers, spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseReady(%q) = %v, want an error saying %q", spec, err, want)
		}
	}
}
