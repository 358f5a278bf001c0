//go:build !linux

package prefork

import (
	"context"

	"github.com/corebench/corebench/models/prefork/control"
)

// IsWorker reports whether this process is a prefork worker: never, here.
func IsWorker() bool { return false }

// RunWorker returns ErrUnsupported.
func RunWorker(context.Context) error { return ErrUnsupported }

// Run returns ErrUnsupported.
func Run(context.Context, Options) error { return ErrUnsupported }

// Master is a prefork master; there is none on this OS. It has the Linux
// method set so that callers compile everywhere.
type Master struct{}

// New returns ErrUnsupported.
func New(Options) (*Master, error) { return nil, ErrUnsupported }

// Run returns ErrUnsupported.
func (*Master) Run(context.Context) error { return ErrUnsupported }

// Addr returns "": there is no server.
func (*Master) Addr() string { return "" }

// Status returns ErrUnsupported.
func (*Master) Status(context.Context) (control.Status, error) {
	return control.Status{}, ErrUnsupported
}

// Reload returns ErrUnsupported.
func (*Master) Reload(context.Context, int, func(string)) error { return ErrUnsupported }

// Scale returns ErrUnsupported.
func (*Master) Scale(context.Context, int, func(string)) error { return ErrUnsupported }
