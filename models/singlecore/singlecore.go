// Package singlecore runs the workload in one process with GOMAXPROCS=1:
// the "Node.js runs on one core" baseline.
//
// GOMAXPROCS=1 bounds only the goroutines running Go code; the garbage
// collector's helpers, syscalls and the kernel's network work still run on
// other cores. Pin it to one CPU (Options.CPUs) for an honest single-core
// figure.
package singlecore

import (
	"context"

	"github.com/corebench/corebench/models"
)

// Run serves until ctx is done, then drains. It sets GOMAXPROCS for the
// whole process: run it in a process of its own.
func Run(ctx context.Context, o models.Options) error {
	return models.RunProcess(ctx, o, models.SingleCore, "none", 1)
}
