//go:build !linux

package main

import "io"

// isTerminal is false where this build cannot tell: no progress bar.
func isTerminal(io.Writer) bool { return false }
