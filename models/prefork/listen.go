//go:build linux

package prefork

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
)

// listenFixed is models.Listen with the port bound explicitly: for port 0
// it listens on the free port it finds first. A socket whose port the
// kernel picked gives it back when it stops listening (pauseIfDown), and
// could not have it again; one bound to its port keeps it.
func listenFixed(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return models.Listen(addr)
	}
	for {
		probe, err := models.Listen(addr)
		if err != nil {
			return nil, err
		}
		fixed := net.JoinHostPort(host, strconv.Itoa(probe.Addr().(*net.TCPAddr).Port))
		probe.Close()
		ln, err := net.Listen("tcp", fixed)
		if !errors.Is(err, syscall.EADDRINUSE) { // taken meanwhile: find another
			if err != nil {
				return nil, models.ListenError(fixed, err)
			}
			return ln, nil
		}
	}
}

// sockets returns the listening sockets the master holds: rr's and
// sticky's, os's shared one, reuseport's slot sockets and the orphans it
// relays.
func (m *Master) sockets() []int {
	var socks []int
	for _, fd := range []int{m.lnSock, m.lnFD} {
		if fd >= 0 {
			socks = append(socks, fd)
		}
	}
	for _, s := range m.slots {
		if s.sock >= 0 {
			socks = append(socks, s.sock)
		}
	}
	for _, o := range m.orphans {
		socks = append(socks, o.sock)
	}
	return socks
}

// pauseIfDown, on the owner, stops listening once no worker can serve and
// none will (every slot errored: the crash budget is spent), so that a
// client or a health check is refused at once rather than accepted and
// reset, or left waiting on a port nothing serves; the parked connections
// are closed. The sockets keep their ports (shutdown, not close), and
// resume listens again when a reload or scale starts a worker.
func (m *Master) pauseIfDown() {
	if m.paused || !m.running || m.stopping || m.anyComing() {
		return
	}
	m.paused = true
	m.publish() // the gate closes first: an accept loop that meets the shutdown's EINVAL waits
	for _, fd := range m.sockets() {
		unix.Shutdown(fd, unix.SHUT_RD) // connect is refused; what was queued is reset
	}
	for _, h := range m.unpark() {
		closeFD(h.fd)
	}
	m.log.printf("ERROR: no worker can serve (every slot is errored): stopped listening on %s; connections are refused until bench reload or bench scale starts a worker", m.addr)
	m.emit(control.Event{Kind: control.EventDown, Slot: -1})
}

// resume, on the owner, listens again, before a worker starts, if the
// server had stopped (pauseIfDown).
func (m *Master) resume() {
	if !m.paused || m.stopping {
		return
	}
	m.paused = false
	for _, fd := range m.sockets() {
		if err := unix.Listen(fd, listenBacklog); err != nil {
			m.log.printf("ERROR: listening again on %s: %v", m.addr, err)
		}
	}
	m.log.printf("listening again on %s: a worker is starting", m.addr)
	m.emit(control.Event{Kind: control.EventUp, Slot: -1})
	// No worker serves yet: the accept loops accept, and park what they
	// accept until one does. (Not rebuild: until the caller's worker is
	// spawned, no slot is coming, and it would stop listening again.)
	m.publish()
}

// listenBacklog is the accept queue asked for when listening again; the
// kernel caps it at net.core.somaxconn, as Go's own listen does.
const listenBacklog = 4096

func reusePortControl(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// listenReusePort opens a listening socket with SO_REUSEPORT, so several
// processes each have their own accept queue on one port and the kernel
// spreads new connections over them by a hash of the addresses.
func listenReusePort(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: reusePortControl}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, models.ListenError(addr, err)
	}
	return ln, nil
}

// reservePort prepares the port for reuseport workers and returns the
// address they bind, with the port resolved when addr asked for port 0.
//
// It first listens without SO_REUSEPORT: that fails when anything at all
// listens on the port, including another reuseport server of the same user,
// which the kernel would otherwise silently let us share the port with.
// Then it keeps a socket bound with SO_REUSEPORT but not listening, which
// holds the port between worker restarts without taking any connections.
func reservePort(addr string) (*os.File, string, error) {
	probe, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", models.ListenError(addr, err)
	}
	bound := probe.Addr().(*net.TCPAddr)
	probe.Close()

	family := unix.AF_INET
	if bound.IP.To4() == nil {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("socket: %w", err)
	}
	// SO_REUSEADDR as Go sets on every listener: without it the bind fails
	// while connections a previous server on the port closed are in
	// TIME_WAIT, unless that server, too, was a reuseport one.
	for opt, name := range map[int]string{unix.SO_REUSEADDR: "SO_REUSEADDR", unix.SO_REUSEPORT: "SO_REUSEPORT"} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			unix.Close(fd)
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		s := &unix.SockaddrInet4{Port: bound.Port}
		copy(s.Addr[:], bound.IP.To4())
		sa = s
	} else {
		s := &unix.SockaddrInet6{Port: bound.Port}
		copy(s.Addr[:], bound.IP.To16())
		sa = s
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, "", models.ListenError(bound.String(), err)
	}
	return os.NewFile(uintptr(fd), "reuseport-reservation"), bound.String(), nil
}
