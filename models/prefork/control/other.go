//go:build !linux

package control

import (
	"context"
	"time"
)

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
