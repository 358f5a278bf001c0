package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/results"
)

// TestVirtualization: the environment says whether the machine is
// virtual, and the warnings say the figures are not performance figures
// where it is emulated or lost more than 1% of its CPU time to steal; a
// plain virtual machine gets the line and no warning.
func TestVirtualization(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	const notPerf = "**Not performance figures:**"
	kvm := []string{"cpuinfo flag hypervisor", "clocksources tsc kvm-clock"}
	for _, tt := range []struct {
		name    string
		v       *results.Virtualization
		env     string // the environment row, "" for none
		warn    string // in the warning, "" for none
		notWant string
	}{
		{name: "older run", v: nil},
		{name: "bare metal",
			v:   &results.Virtualization{StealSinceBoot: f(0), Evidence: []string{"no hypervisor flag in cpuinfo", "DMI sys_vendor Dell Inc."}},
			env: "| Virtualization | none seen; from no hypervisor flag in cpuinfo, DMI sys_vendor Dell Inc. |"},
		{name: "plain KVM guest",
			v:       &results.Virtualization{Virtualized: true, Hypervisor: "KVM", Steal: f(0.002), StealSinceBoot: f(0.0001), Evidence: kvm},
			env:     "| Virtualization | virtualized (KVM); steal 0.2% of CPU time during the repeats; from cpuinfo flag hypervisor, clocksources tsc kvm-clock |",
			notWant: "steal 0.01%"}, // the repeats' steal, not since boot
		{name: "just under the threshold",
			v:   &results.Virtualization{Virtualized: true, Steal: f(0.01), Evidence: []string{"cpuinfo flag hypervisor"}},
			env: "| Virtualization | virtualized (hypervisor not named); steal 1% of CPU time during the repeats; from cpuinfo flag hypervisor |"},
		{name: "emulated",
			v: &results.Virtualization{Virtualized: true, Hypervisor: "QEMU", Emulated: true, Steal: f(0),
				Evidence: []string{"cpuinfo flag hypervisor", "DMI sys_vendor QEMU", "no kvm-clock clocksource: QEMU without KVM, software emulation (a heuristic)"}},
			env:  "| Virtualization | **emulated** (QEMU without KVM: software emulation, a heuristic); steal 0% of CPU time during the repeats; from cpuinfo flag hypervisor",
			warn: notPerf + " the machine is emulated (QEMU without KVM), so they measure the emulator. Compare nothing from this run against other machines."},
		{name: "steal",
			v:    &results.Virtualization{Virtualized: true, Hypervisor: "Amazon EC2", Steal: f(0.032), StealSinceBoot: f(0.05), Evidence: kvm},
			env:  "| Virtualization | virtualized (Amazon EC2); steal 3.2% of CPU time during the repeats;",
			warn: notPerf + " the virtual machine lost 3.2% of its CPU time to other guests (steal) during the repeats, so they depend on its neighbours' load. Compare nothing from this run against other machines."},
		{name: "steal since boot",
			v:    &results.Virtualization{Virtualized: true, Hypervisor: "Xen", StealSinceBoot: f(0.05), Evidence: []string{"/sys/hypervisor/type xen"}},
			env:  "| Virtualization | virtualized (Xen); steal 5% of CPU time since boot (not measured during the repeats); from /sys/hypervisor/type xen |",
			warn: notPerf + " the virtual machine lost 5% of its CPU time to other guests (steal) since boot,"},
		{name: "emulated and stolen from",
			v:    &results.Virtualization{Virtualized: true, Hypervisor: "QEMU", Emulated: true, Steal: f(0.02)},
			env:  "| Virtualization | **emulated** (QEMU without KVM: software emulation, a heuristic); steal 2% of CPU time during the repeats |",
			warn: notPerf + " the machine is emulated (QEMU without KVM), so they measure the emulator, and the virtual machine lost 2% of its CPU time"},
	} {
		run := smallRun("20261202T020000Z-vm",
			smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100))
		run.Env.Virtualization = tt.v
		md := renderMarkdown(t, run)
		if got := strings.Contains(md, "| Virtualization |"); got != (tt.env != "") {
			t.Errorf("%s: environment row %v, want %v", tt.name, got, tt.env != "")
		}
		if tt.env != "" && !strings.Contains(md, tt.env) {
			t.Errorf("%s: report.md lacks %q", tt.name, tt.env)
		}
		if got := strings.Contains(md, notPerf); got != (tt.warn != "") {
			t.Errorf("%s: not-performance warning %v, want %v", tt.name, got, tt.warn != "")
		}
		if tt.warn != "" && !strings.Contains(md, "## Warnings\n\n- "+tt.warn) {
			t.Errorf("%s: report.md's first warning is not %q:\n%s", tt.name, tt.warn, md[strings.Index(md, "## Warnings"):strings.Index(md, "## Environment")])
		}
		if tt.notWant != "" && strings.Contains(md, tt.notWant) {
			t.Errorf("%s: report.md has %q", tt.name, tt.notWant)
		}
	}
}

// TestVirtualizationHTML: the page has the warning and the line too.
func TestVirtualizationHTML(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	run := smallRun("20261202T020000Z-vm",
		smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100))
	run.Env.Virtualization = &results.Virtualization{Virtualized: true, Hypervisor: "KVM", Steal: f(0.04)}
	dir := t.TempDir()
	if _, err := Render(run, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<strong>Not performance figures:</strong> the virtual machine lost 4% of its CPU time",
		"<td>virtualized (KVM); steal 4% of CPU time during the repeats</td>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// TestReferenceUnchanged: the committed reference runs, from before
// virtualization was recorded, render byte for byte as committed.
func TestReferenceUnchanged(t *testing.T) {
	refs, _ := filepath.Glob("../results/reference-*/" + results.FileName)
	if len(refs) == 0 {
		t.Fatal("no reference runs under ../results")
	}
	for _, ref := range refs {
		run, err := results.Load(ref)
		if err != nil {
			t.Fatal(err)
		}
		assess.Run(run) // as bench report reads it
		dir := t.TempDir()
		if _, err := Render(run, dir); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{MarkdownFile, HTMLFile} {
			got, _ := os.ReadFile(filepath.Join(dir, name))
			want, err := os.ReadFile(filepath.Join(filepath.Dir(ref), name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s renders differently from the committed %s", ref, name)
			}
		}
	}
}
