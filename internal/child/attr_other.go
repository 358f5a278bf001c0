//go:build !unix

package child

import (
	"os"
	"os/exec"
	"syscall"
)

func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr { return a }

func killGroup(cmd *exec.Cmd) { cmd.Process.Kill() }

func termGroup(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }

func diedOfSIGKILL(*os.ProcessState) bool { return false }
