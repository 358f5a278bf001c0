// Package proc reads what the harness needs to know about processes from
// Linux's /proc: a process tree, its CPU time and peak memory, and waiting
// for processes to be gone. Elsewhere the readers return zero values.
package proc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Tree returns pid and all its descendants, parents first.
func Tree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, Children(out[i])...)
	}
	return out
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
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name in field 2 may hold spaces; fields after its
		// closing parenthesis are plain.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		k, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		ticks += u + k
	}
	return float64(ticks) / clockTick
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
