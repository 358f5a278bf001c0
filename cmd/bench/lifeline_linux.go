package main

import "syscall"

// lifelineAttr: the command leads its own process group, and dies if
// the lifeline does (killed itself, it could not pass the word on).
func lifelineAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
