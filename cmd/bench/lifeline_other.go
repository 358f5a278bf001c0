//go:build !linux

package main

import "syscall"

// lifelineAttr: the command leads its own process group.
func lifelineAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
