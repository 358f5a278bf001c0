//go:build linux

package prefork

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/models/prefork/control"
)

// The control socket lets `bench ps`, `top`, `reload`, `scale` and `logs`
// talk to a running master, like PM2's daemon socket. It is a Unix socket
// of mode 0600 in a directory of mode 0700 owned by the user, and the
// master also checks each client's uid (SO_PEERCRED): only the user who
// started the master (or root) may control it.
//
// The protocol (package control) is one JSON request line, answered by
// JSON lines and heartbeats.

// replies writes the lines of one answer: the handler's and the
// heartbeat's, one at a time.
type replies struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *replies) Encode(r control.Reply) error {
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
				if w.Encode(control.Reply{Alive: true}) != nil {
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
		path = filepath.Join(control.ControlDir(), fmt.Sprintf("master-%d.sock", os.Getpid()))
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
		enc.Encode(control.Reply{Done: true, Error: fmt.Sprintf("uid %d may not control this master", uid)})
		return
	}
	var req control.Request
	if err := json.NewDecoder(bufio.NewReader(io.LimitReader(c, 4096))).Decode(&req); err != nil {
		enc.Encode(control.Reply{Done: true, Error: "bad request: " + err.Error()})
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
		enc.Encode(control.Reply{Progress: s})
		cs.m.log.printf("%s", s)
	}
	var err error
	switch req.Op {
	case "status":
		var st control.Status
		if st, err = cs.m.Status(ctx); err == nil {
			enc.Encode(control.Reply{Status: &st, Done: true})
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
	r := control.Reply{Done: true}
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
	toReply := func(l string) control.Reply { return control.Reply{Log: &l} }
	if !send(enc, tail, toReply) {
		return
	}
	if !follow {
		enc.Encode(control.Reply{Done: true})
		return
	}
	stream(ctx, c, enc, ch, toReply, "")
}

// watch sends the recent events if asked, then, with follow, says it
// watches and streams every new event until the client leaves, the master
// stops or the client falls too far behind.
func (cs *controlServer) watch(ctx context.Context, c *net.UnixConn, enc *replies, req control.Request) {
	recent, ch := cs.m.events.subscribe()
	defer cs.m.events.unsubscribe(ch)
	toReply := func(e control.Event) control.Reply { return control.Reply{Event: &e} }
	if req.Recent && !send(enc, recent, toReply) {
		return
	}
	if !req.Follow {
		enc.Encode(control.Reply{Done: true})
		return
	}
	if enc.Encode(control.Reply{Watching: true}) != nil {
		return
	}
	stream(ctx, c, enc, ch, toReply, fmt.Sprintf("events lost: the watcher fell %d events behind", watchBuffer))
}

// send encodes each of items as toReply makes it; false once the client
// is gone.
func send[T any](enc *replies, items []T, toReply func(T) control.Reply) bool {
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
func stream[T any](ctx context.Context, c *net.UnixConn, enc *replies, ch <-chan T, toReply func(T) control.Reply, lost string) {
	gone := make(chan struct{})
	go func() { io.Copy(io.Discard, c); close(gone) }() // EOF: the client left
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				enc.Encode(control.Reply{Done: true, Error: lost})
				return
			}
			if enc.Encode(toReply(v)) != nil {
				return
			}
		case <-gone:
			return
		case <-ctx.Done():
			enc.Encode(control.Reply{Done: true, Error: "the master is shutting down"})
			return
		}
	}
}
