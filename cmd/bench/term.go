package main

import (
	"io"
	"os"

	"github.com/corebench/corebench/internal/affinity"
)

// isTerminal reports whether w is a terminal, where progress bars and
// screen refreshes belong; a pipe or a file gets plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && fdIsTerminal(f.Fd())
}

// allowedCPUs returns how many CPUs this process may run on.
func allowedCPUs() (int, error) {
	cpus, err := affinity.Allowed()
	return len(cpus), err
}
