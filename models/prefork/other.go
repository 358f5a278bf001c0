//go:build !linux

package prefork

import (
	"context"
	"errors"
)

// IsWorker reports whether this process is a prefork worker: never, here.
func IsWorker() bool { return false }

// RunWorker is not supported on this OS.
func RunWorker(context.Context) error { return errUnsupported }

// Run is not supported on this OS.
func Run(context.Context, Options) error { return errUnsupported }

var errUnsupported = errors.New("the prefork model needs Linux (SCM_RIGHTS, SO_REUSEPORT, PR_SET_PDEATHSIG); use singlecore or goroutines here")
