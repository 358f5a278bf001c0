package child

import "syscall"

// childAttr puts a server in its own process group and has the kernel
// send it SIGTERM if its parent dies; it keeps what a holds.
func childAttr(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Setpgid, a.Pdeathsig = true, syscall.SIGTERM
	return a
}
