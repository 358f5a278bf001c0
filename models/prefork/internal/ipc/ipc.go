//go:build linux

package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Channel is one end of a master-worker IPC channel. Send is safe for
// concurrent use; Recv is meant for one reading goroutine.
type Channel struct {
	c   *net.UnixConn
	buf []byte
	oob []byte
}

// newChannel wraps a connected SOCK_SEQPACKET socket.
func newChannel(c *net.UnixConn) *Channel {
	return &Channel{c: c, buf: make([]byte, headerLen+MaxPayload+1), oob: make([]byte, syscall.CmsgSpace(4*4))}
}

// FromFile makes a Channel of an inherited or socketpair fd. The file is
// consumed: net.FileConn dups it and f is closed.
func FromFile(f *os.File) (*Channel, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("ipc: fd is not a unix socket")
	}
	return newChannel(uc), nil
}

// Send sends m, with fd attached when fd >= 0 (the receiver gets its own
// descriptor for the same open file; the sender keeps fd).
func (ch *Channel) Send(m Msg, fd int) error {
	if len(m.Data) > MaxPayload {
		return ErrTooLarge
	}
	var hdr [headerLen + 64]byte
	b := m.encode(hdr[:0])
	var oob []byte
	if fd >= 0 {
		oob = syscall.UnixRights(fd)
	}
	_, _, err := ch.c.WriteMsgUnix(b, oob, nil)
	return err
}

// Recv receives the next message and the fd attached to it, or -1. The
// caller owns the fd.
func (ch *Channel) Recv() (Msg, int, error) {
	n, oobn, flags, _, err := ch.c.ReadMsgUnix(ch.buf, ch.oob)
	if err != nil {
		return Msg{}, -1, err
	}
	fd := -1
	if oobn > 0 {
		fds, perr := parseRights(ch.oob[:oobn])
		if perr != nil {
			return Msg{}, -1, perr
		}
		// One fd per message is the protocol; close any extras.
		for i, f := range fds {
			if i == 0 {
				fd = f
			} else {
				syscall.Close(f)
			}
		}
	}
	if n == 0 && oobn == 0 {
		return Msg{}, -1, errEOF
	}
	if flags&syscall.MSG_TRUNC != 0 {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return Msg{}, -1, errors.New("ipc: truncated message")
	}
	m, err := decode(ch.buf[:n])
	if err != nil && fd >= 0 {
		syscall.Close(fd)
		fd = -1
	}
	if err == nil && flags&syscall.MSG_CTRUNC != 0 {
		// The kernel could not install the descriptor sent with m: this
		// process has as many open as it may (EMFILE), and it is gone.
		if fd >= 0 {
			syscall.Close(fd)
		}
		return m, -1, ErrFDDropped
	}
	return m, fd, err
}

// ErrFDDropped is what Recv returns, with the message, when the
// descriptor attached to it could not be received: the receiver is out of
// descriptors. The message itself is good; the channel goes on.
var ErrFDDropped = errors.New("ipc: the descriptor sent with the message was dropped: out of file descriptors")

// Close closes the channel.
func (ch *Channel) Close() error { return ch.c.Close() }

// errEOF is what Recv returns when the other end has closed: a
// SOCK_SEQPACKET read of zero bytes.
var errEOF = errors.New("ipc: channel closed by the other end")

func parseRights(oob []byte) ([]int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		f, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

// Pair returns the two ends of a new SOCK_SEQPACKET channel, both
// close-on-exec; the child's end is passed down through ExtraFiles, which
// clears close-on-exec on the descriptor the child receives.
func Pair() (mine *Channel, theirs *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	mine, err = FromFile(os.NewFile(uintptr(fds[0]), "ipc-master"))
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return mine, os.NewFile(uintptr(fds[1]), "ipc-worker"), nil
}
