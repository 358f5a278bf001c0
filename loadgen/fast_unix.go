//go:build unix

package loadgen

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// exchange writes the request and reads the first bytes of the response
// into the read buffer, in two system calls. Through net.Conn it would
// take three: Read first tries read(2), which fails with EAGAIN since the
// server has not answered yet, and only then waits. Here the write is made
// from inside RawConn.Read's callback, after the poller's readiness was
// reset, so the response's arrival cannot be missed, and the callback
// returns false to wait for it without trying to read first. Anything
// unusual (a short write, bytes left from before) takes the plain path.
func (c *fconn) exchange() error {
	rr := c.rd
	if rr.r == rr.w {
		rr.r, rr.w = 0, 0
	}
	if c.raw == nil || rr.w > 0 {
		_, err := c.conn.Write(c.e.req)
		return err
	}
	c.wrote, c.ioErr = 0, nil
	if err := c.raw.Read(c.onReadable); err != nil {
		return err
	}
	if c.ioErr != nil {
		return c.ioErr
	}
	if req := c.e.req; c.wrote < len(req) {
		_, err := c.conn.Write(req[c.wrote:])
		return err
	}
	return nil
}

// readable is exchange's callback; true ends the exchange.
func (c *fconn) readable(fd uintptr) bool {
	req := c.e.req
	if c.wrote < len(req) {
		for {
			n, err := rawWrite(fd, req[c.wrote:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return true // the socket's buffer is full: the plain path waits
			case err != nil:
				c.ioErr = os.NewSyscallError("write", err)
				return true
			}
			c.wrote += n
			if c.wrote < len(req) {
				return true
			}
			return false // wait for the response
		}
	}
	rr := c.rd
	for {
		n, err := rawRead(fd, rr.buf[rr.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.ioErr = os.NewSyscallError("read", err)
		case n > 0:
			rr.w += n
		}
		// n == 0 is the end of the stream: readResponse reads it again
		// and tells a close before the response from one in the middle.
		return true
	}
}

// peerClosed reports whether the server has closed the connection (or
// sent something unasked, which leaves it unusable too), without blocking.
func (c *fconn) peerClosed() bool {
	if c.raw == nil || c.rd.r != c.rd.w {
		return false
	}
	closed := false
	c.raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err == nil || (err != syscall.EAGAIN && err != syscall.EINTR) || n > 0
	})
	return closed
}

// rawRead and rawWrite are read(2) and write(2) without telling the Go
// scheduler: on a non-blocking socket they return in microseconds, and
// entersyscall/exitsyscall would cost a tenth of that on every request.
func rawRead(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawWrite(fd uintptr, b []byte) (int, error) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// linkClosed is peerClosed for a pipelined link with nothing outstanding,
// whose reader holds no bytes.
func linkClosed(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err == nil || (err != syscall.EAGAIN && err != syscall.EINTR) || n > 0
	})
	return closed
}
