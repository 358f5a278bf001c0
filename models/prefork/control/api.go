package control

import "context"

// Client's method set on every OS: this assertion keeps the non-Linux
// stubs (other.go) in step with the Linux code, so callers compile
// everywhere.
var _ interface {
	Status(context.Context) (Status, error)
	Reload(context.Context, int, func(string)) error
	Scale(context.Context, int, func(string)) error
	ScaleFrom(context.Context, int, int, func(string)) error
	Logs(context.Context, bool, func(string)) error
	Events(context.Context, bool, func(Event)) error
	Watch(context.Context) (*Watcher, error)
} = Client{}
