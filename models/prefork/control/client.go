//go:build linux

package control

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ControlDir returns the directory of the control sockets: corebench under
// $XDG_RUNTIME_DIR when that is set, else corebench-<uid> in the
// temporary directory.
func ControlDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "corebench")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("corebench-%d", os.Getuid()))
}

// Client talks to a master over its control socket.
type Client struct {
	Path string
	// Timeout bounds every wait for the master: to connect, and for each
	// line of its answer, heartbeats included; default DefaultTimeout.
	Timeout time.Duration
}

// call sends req and passes each reply line to each until Done.
func (c Client) call(ctx context.Context, req Request, each func(Reply) error) error {
	limit := cmp.Or(c.Timeout, DefaultTimeout)
	notResponding := fmt.Errorf("master at %s %w: no answer in %v (stopped, or wedged?)", c.Path, ErrNotResponding, limit)
	d := net.Dialer{Timeout: limit}
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return notResponding // its listen queue is full: it accepts nothing
		}
		return fmt.Errorf("cannot reach the master at %s: %w", c.Path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req.Beat = limit / 4
	conn.SetDeadline(time.Now().Add(limit))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return notResponding
		}
		return err
	}
	dec := json.NewDecoder(conn)
	for {
		var r Reply
		conn.SetReadDeadline(time.Now().Add(limit))
		if err := dec.Decode(&r); err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, os.ErrDeadlineExceeded):
				return notResponding
			}
			return fmt.Errorf("the master at %s hung up: %w", c.Path, err)
		}
		if r.Alive {
			continue
		}
		if err := each(r); err != nil {
			return err
		}
		if r.Done {
			if r.Error != "" {
				return errors.New(r.Error)
			}
			return nil
		}
	}
}

// Status returns the master's status.
func (c Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.call(ctx, Request{Op: "status"}, func(r Reply) error {
		if r.Status != nil {
			st = *r.Status
		}
		return nil
	})
	return st, err
}

// Reload runs a rolling reload, reporting each step to progress.
func (c Client) Reload(ctx context.Context, parallel int, progress func(string)) error {
	return c.call(ctx, Request{Op: "reload", Parallel: parallel}, func(r Reply) error {
		if r.Progress != "" {
			progress(r.Progress)
		}
		return nil
	})
}

// Scale grows or shrinks the server to n workers.
func (c Client) Scale(ctx context.Context, n int, progress func(string)) error {
	return c.ScaleFrom(ctx, 0, n, progress)
}

// ScaleFrom scales the server from the from workers it had when the
// caller looked (a count relative to that, as bench scale +2 is) to n,
// and fails without touching it if it has another number of workers by
// now; from 0 is any.
func (c Client) ScaleFrom(ctx context.Context, from, n int, progress func(string)) error {
	return c.call(ctx, Request{Op: "scale", Workers: n, From: from}, func(r Reply) error {
		if r.Progress != "" {
			progress(r.Progress)
		}
		return nil
	})
}

// Logs passes the master's recent log lines to line, and with follow every
// new one until ctx is done.
func (c Client) Logs(ctx context.Context, follow bool, line func(string)) error {
	return c.stream(ctx, Request{Op: "logs", Follow: follow}, func(r Reply) {
		if r.Log != nil {
			line(*r.Log)
		}
	})
}

// stream makes a call whose replies go to each; a followed stream ends
// when ctx does, and that is not an error.
func (c Client) stream(ctx context.Context, req Request, each func(Reply)) error {
	err := c.call(ctx, req, func(r Reply) error {
		each(r)
		return nil
	})
	if req.Follow && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Watch subscribes to the master's events. It returns once the master has
// confirmed the subscription, so every change after that is delivered, in
// order, until ctx is done, Close is called or the master stops.
func (c Client) Watch(ctx context.Context) (*Watcher, error) {
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan Event)
	w := &Watcher{events: events, stop: cancel, done: make(chan struct{})}
	subscribed := make(chan struct{})
	go func() {
		defer close(w.done)
		defer close(events)
		watching := false
		err := c.call(ctx, Request{Op: "watch", Follow: true}, func(r Reply) error {
			switch {
			case r.Watching && !watching:
				watching = true
				close(subscribed)
				return nil
			case r.Done:
				return nil // call returns r.Error
			case !watching || r.Event == nil:
				return fmt.Errorf("the master at %s does not stream events", c.Path)
			}
			select {
			case events <- *r.Event:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if !watching || ctx.Err() == nil {
			w.err = err // not when the caller ended it
		}
	}()
	select {
	case <-subscribed:
		return w, nil
	case <-w.done:
		cancel()
		if w.err == nil {
			w.err = ErrWatchEnded
		}
		return nil, w.err
	}
}

// Events passes the master's recent events to each, and with follow every
// new one until ctx is done, as Logs does for the log lines.
func (c Client) Events(ctx context.Context, follow bool, each func(Event)) error {
	return c.stream(ctx, Request{Op: "watch", Recent: true, Follow: follow}, func(r Reply) {
		if r.Event != nil {
			each(*r.Event)
		}
	})
}

// Masters returns the control sockets of the masters running in
// ControlDir, and removes the ones left behind by masters that died.
func Masters() ([]string, error) {
	dir := ControlDir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var live []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sock") || e.Type()&os.ModeSocket == 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		c, err := net.DialTimeout("unix", p, time.Second)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				os.Remove(p) // its master is gone
			}
			continue
		}
		c.Close()
		live = append(live, p)
	}
	sort.Strings(live)
	return live, nil
}
