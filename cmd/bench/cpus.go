package main

import (
	"github.com/corebench/corebench/internal/affinity"
)

// allowedCPUs returns how many CPUs this process may run on.
func allowedCPUs() (int, error) {
	cpus, err := affinity.Allowed()
	return len(cpus), err
}
