//go:build !linux

package affinity

import (
	"os/exec"
	"runtime"
)

// Allowed returns every CPU: without an affinity API, all of them.
func Allowed() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}

// Available is Allowed: without an affinity API, every CPU.
func Available() ([]int, error) { return Allowed() }

// PinProcess is not supported on this OS.
func PinProcess(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	return ErrUnsupported
}

// StartPinned is not supported on this OS; with no cpus it is cmd.Start.
func StartPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	return ErrUnsupported
}
