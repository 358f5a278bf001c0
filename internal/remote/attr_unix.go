//go:build unix

package remote

import (
	"os/exec"
	"syscall"
)

// ownGroup puts an ssh in its own process group: a Ctrl-C in the
// terminal reaches the driver only, which then stops each remote process
// through its lifeline and still reads what it reports.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
