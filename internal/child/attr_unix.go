//go:build unix

package child

import (
	"os"
	"os/exec"
	"syscall"
)

// killGroup kills the server's whole process group.
func killGroup(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// termGroup sends SIGTERM to the server's whole process group.
func termGroup(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }

// diedOfSIGKILL says whether SIGKILL ended the process.
func diedOfSIGKILL(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
