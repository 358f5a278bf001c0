//go:build unix && !linux

package child

import "syscall"

// childAttr puts a server in its own process group; it keeps what a
// holds.
func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Setpgid = true
	return a
}
