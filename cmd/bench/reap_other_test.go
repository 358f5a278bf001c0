//go:build !linux

package main

// reapOrphans does nothing off Linux: there is no subreaper to become,
// and the tests that start servers are Linux-only.
func reapOrphans() {}
