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

// Master is a prefork master; there is none on this OS.
type Master struct{}

// New is not supported on this OS.
func New(Options) (*Master, error) { return nil, errUnsupported }

// Run is not supported on this OS.
func (*Master) Run(context.Context) error { return errUnsupported }

// Reload is not supported on this OS.
func (*Master) Reload(context.Context, int, func(string)) error { return errUnsupported }

// Client talks to a master's control socket; there is none on this OS.
type Client struct{ Path string }

// Status is not supported on this OS.
func (Client) Status(context.Context) (Status, error) { return Status{}, errUnsupported }

// Reload is not supported on this OS.
func (Client) Reload(context.Context, int, func(string)) error { return errUnsupported }

// Scale is not supported on this OS.
func (Client) Scale(context.Context, int, func(string)) error { return errUnsupported }

// Logs is not supported on this OS.
func (Client) Logs(context.Context, bool, func(string)) error { return errUnsupported }

// Masters finds no masters on this OS.
func Masters() ([]string, error) { return nil, nil }

// ControlDir is where control sockets would be.
func ControlDir() string { return "" }

var errUnsupported = errors.New("the prefork model needs Linux (SCM_RIGHTS, SO_REUSEPORT, PR_SET_PDEATHSIG); use singlecore or goroutines here")
