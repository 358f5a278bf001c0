//go:build !linux

package prefork

import (
	"context"
	"time"
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
func (*Master) Status(context.Context) (Status, error) { return Status{}, ErrUnsupported }

// Reload returns ErrUnsupported.
func (*Master) Reload(context.Context, int, func(string)) error { return ErrUnsupported }

// Scale returns ErrUnsupported.
func (*Master) Scale(context.Context, int, func(string)) error { return ErrUnsupported }

// Client talks to a master's control socket; there is none on this OS.
type Client struct {
	Path    string
	Timeout time.Duration
}

// Status returns ErrUnsupported.
func (Client) Status(context.Context) (Status, error) { return Status{}, ErrUnsupported }

// Reload returns ErrUnsupported.
func (Client) Reload(context.Context, int, func(string)) error { return ErrUnsupported }

// Scale returns ErrUnsupported.
func (Client) Scale(context.Context, int, func(string)) error { return ErrUnsupported }

// ScaleFrom returns ErrUnsupported.
func (Client) ScaleFrom(context.Context, int, int, func(string)) error { return ErrUnsupported }

// Logs returns ErrUnsupported.
func (Client) Logs(context.Context, bool, func(string)) error { return ErrUnsupported }

// Watch returns ErrUnsupported.
func (Client) Watch(context.Context) (*Watcher, error) { return nil, ErrUnsupported }

// Events returns ErrUnsupported.
func (Client) Events(context.Context, bool, func(Event)) error { return ErrUnsupported }

// Masters finds no masters on this OS.
func Masters() ([]string, error) { return nil, nil }

// ControlDir is where control sockets would be.
func ControlDir() string { return "" }
