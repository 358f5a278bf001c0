// Package proc reads what the harness needs to know about processes from
// Linux's /proc: a process tree, its CPU time and peak memory, and waiting
// for processes to be gone. Elsewhere the readers return zero values.
package proc

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Tree returns pid and all its descendants, parents first.
func Tree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, Children(out[i])...)
	}
	return out
}

// Group returns the processes of process group pgid: those a server
// forked that left its tree (orphans) but not its group.
func Group(pgid int) []int {
	var out []int
	for _, pid := range All() {
		if st, ok := ReadStat(pid); ok && st.PGrp == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// All returns every process's pid, in increasing order.
func All() []int {
	var out []int
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// Cmdline returns pid's arguments, nil when it is gone (or a kernel
// thread, which has none).
func Cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// Exe returns the path of pid's executable, without the " (deleted)"
// the kernel appends once the file is removed; false when it cannot be
// read (gone, a kernel thread, another user's).
func Exe(pid int) (string, bool) {
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(l, " (deleted)"), true
}

// OpenFiles returns how many file descriptors this process has open.
func OpenFiles() (int, bool) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	return len(fds) - 1, true // less ReadDir's own
}

// Stat is what the harness reads of /proc/PID/stat.
type Stat struct {
	Comm  string // the command name, at most 15 bytes
	State byte   // R running, S sleeping, Z zombie, ...
	PGrp  int    // process group
	// CPU is the user plus system CPU time it has used so far, in
	// seconds.
	CPU float64
}

// ReadStat reads pid's stat; false when it is gone.
func ReadStat(pid int) (Stat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, false
	}
	return parsePidStat(string(b))
}

// parsePidStat parses a /proc/PID/stat line: "pid (comm) state ppid
// pgrp ...". The command name may hold spaces and parentheses; the
// fields after its last closing parenthesis are plain.
func parsePidStat(s string) (Stat, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Stat{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 || len(f[0]) != 1 {
		return Stat{}, false
	}
	pgrp, _ := strconv.Atoi(f[2])           // field 5
	u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	k, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	return Stat{Comm: s[open+1 : end], State: f[0][0], PGrp: pgrp, CPU: float64(u+k) / clockTick}, true
}

// Children returns the direct children of pid.
func Children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(w); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// clockTick is USER_HZ, which /proc/<pid>/stat counts in; it is 100 on
// every Linux architecture Go supports.
const clockTick = 100

// CPUSeconds returns the user plus system CPU time the processes have used
// so far. Processes that are gone count as zero.
func CPUSeconds(pids []int) float64 {
	var sum float64
	for _, pid := range pids {
		s, _ := CPUSecondsOf(pid)
		sum += s
	}
	return sum
}

// CPUSecondsOf returns the user plus system CPU time pid has used so far,
// and false when it is gone.
func CPUSecondsOf(pid int) (float64, bool) {
	st, ok := ReadStat(pid)
	return st.CPU, ok
}

// CPU is the CPU time of processes, in seconds by pid, read at one
// moment. A process that could not be read (gone) is absent: not
// measured, rather than measured at 0.
type CPU map[int]float64

// ReadCPU reads the CPU time of each of pids.
func ReadCPU(pids []int) CPU {
	c := CPU{}
	for _, pid := range pids {
		if s, ok := CPUSecondsOf(pid); ok {
			c[pid] = s
		}
	}
	return c
}

// Since returns the CPU time c's processes used after the reading
// earlier, process by process: one absent from earlier (born since, or
// not read then) counts from its birth; one absent from c (gone since)
// is lost, not taken away; none counts less than 0.
func (c CPU) Since(earlier CPU) float64 {
	var sum float64
	for pid, s := range c {
		sum += max(0, s-earlier[pid])
	}
	return sum
}

// PeakRSS returns the sum of the processes' peak resident set sizes
// (VmHWM) in bytes.
func PeakRSS(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		total += statusKB(pid, "VmHWM:") * 1024
	}
	return total
}

func statusKB(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// RSS returns the resident set size of pid in bytes (VmRSS).
func RSS(pid int) int64 { return statusKB(pid, "VmRSS:") * 1024 }

// CPUTimes are one CPU's cumulative times from /proc/stat, in ticks.
type CPUTimes struct{ Busy, Total uint64 }

// Machine returns every CPU's cumulative times, indexed by CPU number
// (an offline CPU reads as zeros); nil where /proc/stat cannot be read.
func Machine() []CPUTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	return parseStat(string(b))
}

func parseStat(stat string) []CPUTimes {
	var out []CPUTimes
	for _, l := range strings.Split(stat, "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		id, err := strconv.Atoi(f[0][len("cpu"):])
		if err != nil || id > 4096 {
			continue
		}
		var t CPUTimes
		for i, s := range f[1:] {
			v, _ := strconv.ParseUint(s, 10, 64)
			if i == 8 || i == 9 { // guest time is already in user time
				continue
			}
			t.Total += v
			if i != 3 && i != 4 { // idle, iowait
				t.Busy += v
			}
		}
		for len(out) <= id {
			out = append(out, CPUTimes{})
		}
		out[id] = t
	}
	return out
}

// Busy returns each CPU's busy share between two readings of Machine.
func Busy(before, after []CPUTimes) []float64 {
	if len(before) != len(after) {
		return nil
	}
	out := make([]float64, len(after))
	for i := range after {
		if dt := after[i].Total - before[i].Total; dt > 0 {
			out[i] = float64(after[i].Busy-before[i].Busy) / float64(dt)
		}
	}
	return out
}

// Totals are the whole machine's cumulative CPU times from /proc/stat's
// "cpu" line, in seconds.
type Totals struct {
	// Process is user, nice and system time: what processes ran
	// (guest time is already in user).
	Process float64
	// Interrupt is irq and softirq time, charged to no process when the
	// kernel accounts interrupt time apart.
	Interrupt float64
	// Steal is what a hypervisor ran of other guests on these CPUs.
	Steal float64
}

// MachineTotals reads the machine's totals now; ok is false where
// /proc/stat cannot be read.
func MachineTotals() (t Totals, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Totals{}, false
	}
	return parseTotals(string(b))
}

func parseTotals(stat string) (Totals, bool) {
	for _, l := range strings.Split(stat, "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || f[0] != "cpu" {
			continue
		}
		v := func(i int) float64 {
			n, _ := strconv.ParseUint(f[i], 10, 64)
			return float64(n) / clockTick
		}
		return Totals{Process: v(1) + v(2) + v(3), Interrupt: v(6) + v(7), Steal: v(8)}, true
	}
	return Totals{}, false
}

// Sub returns the times from an earlier reading to t.
func (t Totals) Sub(earlier Totals) Totals {
	return Totals{Process: t.Process - earlier.Process, Interrupt: t.Interrupt - earlier.Interrupt, Steal: t.Steal - earlier.Steal}
}

// InterruptsInTasks reports whether this kernel charges interrupt time
// to the task it interrupted as well as to /proc/stat's irq and softirq
// (tick-based accounting without CONFIG_IRQ_TIME_ACCOUNTING), read once
// from /proc/config.gz. Then machine-wide process time leaves out the
// interrupts that processes' own times include, and Interrupt belongs
// with it. False where the config cannot be read: the common distribution
// kernels account interrupt time apart.
func InterruptsInTasks() bool {
	irqOnce.Do(func() { irqInTasks = interruptsInTasks("/proc/config.gz") })
	return irqInTasks
}

var (
	irqOnce    sync.Once
	irqInTasks bool
)

func interruptsInTasks(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	irqTime, tick := false, false
	sc := bufio.NewScanner(z)
	for sc.Scan() {
		switch sc.Text() {
		case "CONFIG_IRQ_TIME_ACCOUNTING=y":
			irqTime = true
		case "CONFIG_TICK_CPU_ACCOUNTING=y":
			tick = true
		}
	}
	return sc.Err() == nil && tick && !irqTime
}
