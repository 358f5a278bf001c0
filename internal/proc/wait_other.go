//go:build !linux

package proc

import "time"

// WaitGone cannot watch processes on this OS and reports none left.
func WaitGone(pids []int, timeout time.Duration) []int { return nil }

// ReapOrphans does nothing on this OS.
func ReapOrphans() error { return nil }
