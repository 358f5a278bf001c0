package prefork

import (
	"context"

	"github.com/corebench/corebench/models/prefork/control"
)

// Master's method set on every OS: this assertion keeps the non-Linux
// stubs (other.go) in step with the Linux code, so callers compile
// everywhere.
var _ interface {
	Run(context.Context) error
	Addr() string
	Status(context.Context) (control.Status, error)
	Reload(context.Context, int, func(string)) error
	Scale(context.Context, int, func(string)) error
} = (*Master)(nil)
