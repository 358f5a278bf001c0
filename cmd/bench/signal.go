package main

import (
	"context"
	"os"
	"os/signal"
)

// newSignalContext returns a context cancelled by the first of sigs. After
// that the signals are back to their default, so a second Ctrl-C kills.
func newSignalContext(sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c := make(chan os.Signal, 1)
	signal.Notify(c, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case <-c:
			signal.Reset(sigs...)
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(c)
		close(done)
		cancel()
	}
}
