// Package goroutines runs the workload in one multi-threaded process with
// GOMAXPROCS set to the worker count: Go's own answer to using every core,
// one heap and one scheduler for all of them.
package goroutines

import (
	"context"

	"github.com/corebench/corebench/models"
)

// Run serves with GOMAXPROCS=o.Workers until ctx is done, then drains. It
// sets GOMAXPROCS for the whole process: run it in a process of its own.
func Run(ctx context.Context, o models.Options) error {
	o = o.WithDefaults()
	return models.RunProcess(ctx, o, models.Goroutines, "go", o.Workers)
}
