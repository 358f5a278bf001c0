//go:build linux

package prefork

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The control socket lets `bench ps`, `top`, `reload`, `scale` and `logs`
// talk to a running master, like PM2's daemon socket. It is a Unix socket
// of mode 0600 in a directory of mode 0700 owned by the user, and the
// master also checks each client's uid (SO_PEERCRED): only the user who
// started the master (or root) may control it.
//
// The protocol is one JSON request line, answered by JSON lines. While
// it answers, the master also sends a heartbeat line as often as the
// client asks (Beat), so that a client tells a master that is busy (a
// long reload, a quiet log) from one that is stopped or wedged, and gives
// up on the latter within its Timeout instead of hanging.

// request is what a control client asks.
type request struct {
	Op       string        `json:"op"` // status, reload, scale, logs, watch
	Parallel int           `json:"parallel,omitempty"`
	Workers  int           `json:"workers,omitempty"`
	From     int           `json:"from,omitempty"` // scale: only if the server has this many workers (0: any)
	Follow   bool          `json:"follow,omitempty"`
	Recent   bool          `json:"recent,omitempty"`  // watch: the recent events first
	Beat     time.Duration `json:"beat_ns,omitempty"` // send a heartbeat this often while answering; 0: none
}

// reply is one line of an answer. Done ends it; Error says it failed.
type reply struct {
	Status   *Status `json:"status,omitempty"`
	Progress string  `json:"progress,omitempty"`
	Log      *string `json:"log,omitempty"`
	Event    *Event  `json:"event,omitempty"`
	Watching bool    `json:"watching,omitempty"` // watch: subscribed, events follow
	Alive    bool    `json:"alive,omitempty"`    // a heartbeat, nothing else
	Done     bool    `json:"done,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// replies writes the lines of one answer: the handler's and the
// heartbeat's, one at a time.
type replies struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *replies) Encode(r reply) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(r)
}

// beat sends a heartbeat every d until the returned stop is called.
func (w *replies) beat(d time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if w.Encode(reply{Alive: true}) != nil {
					return
				}
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

// gaveUp reports whether the client of c has already closed its end: it
// gave up waiting (the master was stopped, or busy) before the master read
// its request, and nobody will read what comes of it.
func gaveUp(c *net.UnixConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	eof := false
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		eof = n == 0 && err == nil
	})
	return eof
}

// ControlDir returns the directory of the control sockets: corebench under
// $XDG_RUNTIME_DIR when that is set, else corebench-<uid> in the
// temporary directory.
func ControlDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "corebench")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("corebench-%d", os.Getuid()))
}

// secureDir creates dir with mode 0700, or checks that the existing one
// is a real directory of this user that nobody else may enter.
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("control socket directory %s is not a directory", dir)
	case !ok || int(st.Uid) != os.Getuid():
		return fmt.Errorf("refusing control socket directory %s: it belongs to another user", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("refusing control socket directory %s: mode %v lets other users in (want 0700)", dir, fi.Mode().Perm())
	}
	return nil
}

type controlServer struct {
	m    *Master
	path string
	ln   *net.UnixListener
	wg   sync.WaitGroup
	quit chan struct{}
}

// serveControl opens the control socket at path (default: a new one in
// ControlDir). A socket left there by a master that died is replaced; one
// a live master answers on is an error.
func (m *Master) serveControl(path string) (*controlServer, error) {
	if path == "" {
		path = filepath.Join(ControlDir(), fmt.Sprintf("master-%d.sock", os.Getpid()))
	}
	if err := secureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another master is running with control socket %s; stop it or pick another path with --control", path)
		}
		m.log.printf("replacing control socket %s left behind by a master that is gone", path)
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	cs := &controlServer{m: m, path: path, ln: ln, quit: make(chan struct{})}
	cs.wg.Add(1)
	go cs.serve()
	m.log.printf("control socket %s (bench ps, top, reload, scale, logs)", path)
	return cs, nil
}

func (cs *controlServer) close() {
	close(cs.quit)
	cs.ln.Close() // removes the socket file too
	cs.wg.Wait()
}

func (cs *controlServer) serve() {
	defer cs.wg.Done()
	for {
		c, err := cs.ln.AcceptUnix()
		if err != nil {
			return
		}
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			defer c.Close()
			cs.handle(c)
		}()
	}
}

// peerAllowed reports whether the client's uid is ours or root's.
func peerAllowed(c *net.UnixConn) (bool, int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, -1
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if cred == nil {
		return false, -1
	}
	return int(cred.Uid) == os.Getuid() || cred.Uid == 0, int(cred.Uid)
}

func (cs *controlServer) handle(c *net.UnixConn) {
	enc := &replies{enc: json.NewEncoder(c)}
	if ok, uid := peerAllowed(c); !ok {
		enc.Encode(reply{Done: true, Error: fmt.Sprintf("uid %d may not control this master", uid)})
		return
	}
	var req request
	if err := json.NewDecoder(bufio.NewReader(io.LimitReader(c, 4096))).Decode(&req); err != nil {
		enc.Encode(reply{Done: true, Error: "bad request: " + err.Error()})
		return
	}
	if (req.Op == "reload" || req.Op == "scale") && gaveUp(c) {
		cs.m.log.printf("not carrying out %s: the client gave up waiting before the master read its request", req.Op)
		return
	}
	if req.Beat > 0 {
		defer enc.beat(max(req.Beat, 50*time.Millisecond))()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-cs.quit:
		case <-ctx.Done():
		}
		cancel()
	}()
	progress := func(s string) {
		enc.Encode(reply{Progress: s})
		cs.m.log.printf("%s", s)
	}
	var err error
	switch req.Op {
	case "status":
		var st Status
		if st, err = cs.m.Status(ctx); err == nil {
			enc.Encode(reply{Status: &st, Done: true})
			return
		}
	case "reload":
		err = cs.m.Reload(ctx, req.Parallel, progress)
	case "scale":
		err = cs.m.scale(ctx, req.Workers, req.From, progress)
	case "logs":
		cs.logs(ctx, c, enc, req.Follow)
		return
	case "watch":
		cs.watch(ctx, c, enc, req)
		return
	default:
		err = fmt.Errorf("unknown operation %q", req.Op)
	}
	r := reply{Done: true}
	if err != nil {
		r.Error = err.Error()
	}
	enc.Encode(r)
}

// logs sends the recent log lines and, with follow, every new one until
// the client leaves or the master stops.
func (cs *controlServer) logs(ctx context.Context, c *net.UnixConn, enc *replies, follow bool) {
	tail, ch := cs.m.log.subscribe()
	defer cs.m.log.unsubscribe(ch)
	toReply := func(l string) reply { return reply{Log: &l} }
	if !send(enc, tail, toReply) {
		return
	}
	if !follow {
		enc.Encode(reply{Done: true})
		return
	}
	stream(ctx, c, enc, ch, toReply, "")
}

// watch sends the recent events if asked, then, with follow, says it
// watches and streams every new event until the client leaves, the master
// stops or the client falls too far behind.
func (cs *controlServer) watch(ctx context.Context, c *net.UnixConn, enc *replies, req request) {
	recent, ch := cs.m.events.subscribe()
	defer cs.m.events.unsubscribe(ch)
	toReply := func(e Event) reply { return reply{Event: &e} }
	if req.Recent && !send(enc, recent, toReply) {
		return
	}
	if !req.Follow {
		enc.Encode(reply{Done: true})
		return
	}
	if enc.Encode(reply{Watching: true}) != nil {
		return
	}
	stream(ctx, c, enc, ch, toReply, fmt.Sprintf("events lost: the watcher fell %d events behind", watchBuffer))
}

// send encodes each of items as toReply makes it; false once the client
// is gone.
func send[T any](enc *replies, items []T, toReply func(T) reply) bool {
	for _, v := range items {
		if enc.Encode(toReply(v)) != nil {
			return false
		}
	}
	return true
}

// stream sends what comes on a feed's channel until the client leaves
// (EOF on c), the master stops, or the feed closes ch, which then ends
// the stream with lost as its error.
func stream[T any](ctx context.Context, c *net.UnixConn, enc *replies, ch <-chan T, toReply func(T) reply, lost string) {
	gone := make(chan struct{})
	go func() { io.Copy(io.Discard, c); close(gone) }() // EOF: the client left
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				enc.Encode(reply{Done: true, Error: lost})
				return
			}
			if enc.Encode(toReply(v)) != nil {
				return
			}
		case <-gone:
			return
		case <-ctx.Done():
			enc.Encode(reply{Done: true, Error: "the master is shutting down"})
			return
		}
	}
}

// Client talks to a master over its control socket.
type Client struct {
	Path string
	// Timeout bounds every wait for the master: to connect, and for each
	// line of its answer, heartbeats included; default DefaultTimeout.
	Timeout time.Duration
}

// call sends req and passes each reply line to each until Done.
func (c Client) call(ctx context.Context, req request, each func(reply) error) error {
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
		var r reply
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
	err := c.call(ctx, request{Op: "status"}, func(r reply) error {
		if r.Status != nil {
			st = *r.Status
		}
		return nil
	})
	return st, err
}

// Reload runs a rolling reload, reporting each step to progress.
func (c Client) Reload(ctx context.Context, parallel int, progress func(string)) error {
	return c.call(ctx, request{Op: "reload", Parallel: parallel}, func(r reply) error {
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
	return c.call(ctx, request{Op: "scale", Workers: n, From: from}, func(r reply) error {
		if r.Progress != "" {
			progress(r.Progress)
		}
		return nil
	})
}

// Logs passes the master's recent log lines to line, and with follow every
// new one until ctx is done.
func (c Client) Logs(ctx context.Context, follow bool, line func(string)) error {
	return c.stream(ctx, request{Op: "logs", Follow: follow}, func(r reply) {
		if r.Log != nil {
			line(*r.Log)
		}
	})
}

// stream makes a call whose replies go to each; a followed stream ends
// when ctx does, and that is not an error.
func (c Client) stream(ctx context.Context, req request, each func(reply)) error {
	err := c.call(ctx, req, func(r reply) error {
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
		err := c.call(ctx, request{Op: "watch", Follow: true}, func(r reply) error {
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
	return c.stream(ctx, request{Op: "watch", Recent: true, Follow: follow}, func(r reply) {
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
