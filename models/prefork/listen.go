//go:build linux

package prefork

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/models"
)

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
