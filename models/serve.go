package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultDrainIdle bounds how long a draining server waits for keep-alive
// connections to come back with one more request (answered with
// "Connection: close") before it closes the ones still idle.
const DefaultDrainIdle = 2 * time.Second

// ServeOptions configure Serve.
type ServeOptions struct {
	Grace     time.Duration // limit on the whole drain; default DefaultGrace
	DrainIdle time.Duration // see DefaultDrainIdle; capped at Grace
	Log       io.Writer     // net/http's error log; nil discards it
	// Serving is called once the accept loop runs.
	Serving func()
	// Draining is called when ctx is done and the drain begins.
	Draining func()
	// Conns, when set, is kept equal to the number of open connections.
	Conns *atomic.Int64
	// Timeouts bound what each client may take (see Timeouts); zero
	// fields take the defaults.
	Timeouts Timeouts
}

// Serve serves h on ln until ctx is done, then drains: it stops accepting,
// answers every further request with "Connection: close" so clients leave
// cleanly instead of finding a closed socket, waits up to DrainIdle for
// keep-alive connections to go, then lets requests in flight finish within
// Grace and closes what remains. A clean drain returns nil.
//
// Go's Server.Shutdown alone closes idle keep-alive connections at once,
// which races with clients already sending on them; that race is what makes
// "graceful" reloads drop requests, so the idle wait comes first.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.DrainIdle <= 0 {
		o.DrainIdle = DefaultDrainIdle
	}
	o.DrainIdle = min(o.DrainIdle, o.Grace)
	errLog := io.Discard
	if o.Log != nil {
		errLog = o.Log
	}

	var draining atomic.Bool
	open := o.Conns
	if open == nil {
		open = new(atomic.Int64)
	}
	gone := make(chan struct{}, 1) // signalled when draining and no connection is left
	closeHdr := []string{"close"}
	limits := o.Timeouts.WithDefaults()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if draining.Load() {
				w.Header()["Connection"] = closeHdr
			}
			h.ServeHTTP(w, r)
		}),
		// Each limit re-arms a timer of the runtime's on every request, a
		// cost a bare net/http server does not pay, nor a client that
		// never stalls; Node pays it for its own. A negative one is none
		// to net/http as here, and it must be set: a zero would mean
		// ReadTimeout's.
		ReadHeaderTimeout: limits.Header,
		ReadTimeout:       limits.Request,
		IdleTimeout:       limits.Idle,
		ErrorLog:          log.New(errLog, "http: ", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				if open.Add(-1) == 0 && draining.Load() {
					select {
					case gone <- struct{}{}:
					default:
					}
				}
			}
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if o.Serving != nil {
		o.Serving()
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	start := time.Now()
	draining.Store(true)
	if o.Draining != nil {
		o.Draining()
	}
	ln.Close()
	// Wait for Serve to return before counting: it counts each connection
	// it accepted before it asks for the next, and a listener may still
	// hand over one it took from the kernel before the Close. Every one
	// must be waited for here, because Shutdown closes unanswered any
	// connection whose first request it reads after Shutdown began.
	<-served // an error we caused
	// gone may hold a signal from a moment the count was 0 before the last
	// connections were counted: check again after each.
	t := time.NewTimer(o.DrainIdle)
wait:
	for open.Load() > 0 {
		select {
		case <-gone:
		case <-t.C:
			break wait
		}
	}
	t.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace-time.Since(start))
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		n := open.Load()
		srv.Close()
		return fmt.Errorf("grace period of %v over: closed %d connections with requests still in flight", o.Grace, n)
	}
	return err
}
