package vmtest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill QEMU when this process dies: a test
// binary that go test's timeout ends panics without cancelling, and its
// VM would go on taking the host's CPUs (one did, for over half an hour).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
