package proc

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	// cpu1 is offline; guest time (the last two) is already in user time.
	got := parseStat("cpu  30 0 10 100 5 0 0 0 7 0\n" +
		"cpu0 10 1 2 50 3 4 5 6 7 8\n" +
		"cpu2 20 0 8 50 2 0 0 0 0 0\n" +
		"intr 1 2 3\n")
	want := []CPUTimes{{Busy: 10 + 1 + 2 + 4 + 5 + 6, Total: 10 + 1 + 2 + 50 + 3 + 4 + 5 + 6}, {}, {Busy: 28, Total: 80}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cpu%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	b := Busy(got, []CPUTimes{{Busy: got[0].Busy + 30, Total: got[0].Total + 40}, {}, got[2]})
	if len(b) != 3 || b[0] != 0.75 || b[1] != 0 || b[2] != 0 {
		t.Errorf("Busy = %v, want [0.75 0 0]", b)
	}
	if Busy(got, got[:1]) != nil {
		t.Error("Busy of readings of different machines is not nil")
	}
}

// TestMachineSeesABusyCPU: a thread spinning on CPU 0 makes it busy.
func TestMachineSeesABusyCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil || !old.IsSet(0) {
		t.Skipf("CPU 0 not available: %v", err)
	}
	var one unix.CPUSet
	one.Set(0)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &old)

	before := Machine()
	if len(before) < runtime.NumCPU() {
		t.Fatalf("%d CPUs read from /proc/stat, want at least %d", len(before), runtime.NumCPU())
	}
	// Spin until CPU 0 has accounted 20 ticks (0.2 s at the usual 100 Hz).
	var after []CPUTimes
	for x := uint64(1); ; x = x*6364136223846793005 + 1 {
		if x&0xfffff == 0 {
			after = Machine()
			if after[0].Total-before[0].Total >= 20 {
				break
			}
		}
	}
	if b := Busy(before, after); b[0] < 0.8 {
		t.Errorf("CPU 0 was %.0f%% busy while a thread spun on it", 100*b[0])
	}
}

func TestParseTotals(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, ok := parseTotals("cpu  300 10 200 1000 50 20 30 40 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if !ok || got != (Totals{Process: 5.1, Interrupt: 0.5, Steal: 0.4}) {
		t.Errorf("got %+v, %v; want process 5.1 s, interrupt 0.5 s, steal 0.4 s", got, ok)
	}
	if d := got.Sub(Totals{Process: 5, Steal: 0.4}); d.Process < 0.0999 || d.Process > 0.1001 || d.Steal != 0 || d.Interrupt != 0.5 {
		t.Errorf("Sub = %+v", d)
	}
	if _, ok := parseTotals("intr 1 2 3\n"); ok {
		t.Error("a stat without a cpu line parsed")
	}
}

func TestMachineTotalsRuns(t *testing.T) {
	a, ok := MachineTotals()
	if !ok || a.Process <= 0 {
		t.Fatalf("MachineTotals = %+v, %v: want the machine's process time so far", a, ok)
	}
}

func TestInterruptsInTasks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, config string) string {
		p := filepath.Join(dir, name)
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		z.Write([]byte(config))
		z.Close()
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name, config string
		want         bool
	}{
		{"tick", "CONFIG_TICK_CPU_ACCOUNTING=y\n# CONFIG_IRQ_TIME_ACCOUNTING is not set\n", true},
		{"irqtime", "CONFIG_TICK_CPU_ACCOUNTING=y\nCONFIG_IRQ_TIME_ACCOUNTING=y\n", false},
		{"nohz", "CONFIG_VIRT_CPU_ACCOUNTING_GEN=y\n", false},
	} {
		if got := interruptsInTasks(write(tt.name, tt.config)); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if interruptsInTasks(filepath.Join(dir, "absent")) {
		t.Error("no config: want false, the lower estimate")
	}
}

// TestSelf: this process's stat, arguments, executable and open files,
// read from /proc.
func TestSelf(t *testing.T) {
	pid := os.Getpid()
	st, ok := ReadStat(pid)
	if !ok || st.State == 0 || st.State == 'Z' || st.PGrp != unix.Getpgrp() || st.Comm == "" {
		t.Errorf("ReadStat(self) = %+v, %v; want alive, in group %d", st, ok, unix.Getpgrp())
	}
	if args := Cmdline(pid); len(args) != len(os.Args) || args[0] != os.Args[0] {
		t.Errorf("Cmdline(self) = %q, want %q", args, os.Args)
	}
	exe, _ := os.Executable()
	if got, ok := Exe(pid); !ok || got != exe {
		t.Errorf("Exe(self) = %q, %v; want %q", got, ok, exe)
	}
	n, ok := OpenFiles()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, _ := OpenFiles(); !ok || n < 3 || m != n+1 {
		t.Errorf("OpenFiles: %d, %v, then %d after opening one; want at least stdin, stdout and stderr, then one more", n, ok, m)
	}
	if !slices.Contains(All(), pid) || !slices.Contains(Group(unix.Getpgrp()), pid) {
		t.Error("this process is not in All, or not in its own group")
	}
	if c := ReadCPU([]int{pid, 1 << 30}); len(c) != 1 || c[pid] <= 0 {
		t.Errorf("ReadCPU(self, no such pid) = %v; want this one's, the other absent", c)
	}
	if _, ok := ReadStat(1 << 30); ok {
		t.Error("a pid that does not exist was read")
	}
}
