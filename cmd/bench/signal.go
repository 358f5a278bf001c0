package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
)

// newSignalContext returns a context cancelled by the first of sigs. After
// that the signals are back to their default, so a second Ctrl-C kills.
// The stop function may be called more than once.
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
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(c)
			close(done)
			cancel()
		})
	}
}
