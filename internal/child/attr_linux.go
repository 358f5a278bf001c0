package child

import (
	"os/exec"
	"syscall"
)

// childAttr puts a server in its own process group and has the kernel
// send it SIGTERM if the suite dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// killGroup kills the server's whole process group.
func killGroup(cmd *exec.Cmd) { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
