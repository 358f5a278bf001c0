//go:build !unix

package loadgen

import "net"

// exchange writes the request; readResponse reads the response.
func (c *fconn) exchange() error {
	_, err := c.conn.Write(c.e.req)
	return err
}

func (c *fconn) readable(uintptr) bool { return true }

// peerClosed cannot tell here without blocking: the request is sent.
func (c *fconn) peerClosed() bool { return false }

// linkClosed cannot tell here without blocking either.
func linkClosed(net.Conn) bool { return false }
