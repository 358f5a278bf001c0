//go:build linux

package prefork

import (
	"errors"
	"net"
	"testing"
)

// acceptSignal reports each connection its Accept returns.
type acceptSignal struct {
	net.Listener
	accepted chan struct{}
}

func (l *acceptSignal) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted <- struct{}{}
	}
	return c, err
}

// TestMergedListenerKeepsConnectionAcceptedAtClose: a connection the
// merged listener took from its own socket before Close is still returned
// by Accept, not closed: under reuseport handover it is out of the queue
// the replacement worker takes over, so dropping it reset a connection at
// rolling reloads.
func TestMergedListenerKeepsConnectionAcceptedAtClose(t *testing.T) {
	for i := range 50 {
		own, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sig := &acceptSignal{Listener: own, accepted: make(chan struct{}, 1)}
		l := newHandoffListener(own.Addr().String())
		ln := l.merge(sig)
		c, err := net.Dial("tcp", own.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		<-sig.accepted // the merge goroutine holds the connection
		ln.Close()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatalf("run %d: Accept after Close: %v, want the connection accepted before it", i, err)
		}
		sc.Close()
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("run %d: second Accept: %v, want net.ErrClosed", i, err)
		}
		c.Close()
	}
}
