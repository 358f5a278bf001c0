//go:build !linux

package main

func fdIsTerminal(uintptr) bool { return false }
