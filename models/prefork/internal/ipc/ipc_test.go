//go:build linux

package ipc

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func pair(t *testing.T) (*Channel, *Channel) {
	t.Helper()
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestChannelRoundTrip(t *testing.T) {
	a, b := pair(t)
	for _, m := range []Msg{
		{Kind: KindReady},
		{Kind: KindCounterAdd, ID: 1<<63 + 5, Val: -42, Aux: 7},
		{Kind: KindSend, Aux: -1, Data: bytes.Repeat([]byte("x"), MaxPayload)},
	} {
		if err := a.Send(m, -1); err != nil {
			t.Fatal(err)
		}
		got, fd, err := b.Recv()
		if err != nil || fd != -1 {
			t.Fatalf("Recv: %v, fd %d", err, fd)
		}
		if got.Kind != m.Kind || got.ID != m.ID || got.Val != m.Val || got.Aux != m.Aux || !bytes.Equal(got.Data, m.Data) {
			t.Errorf("sent %+v, received %+v", m, got)
		}
	}
	if err := a.Send(Msg{Data: make([]byte, MaxPayload+1)}, -1); err != ErrTooLarge {
		t.Errorf("oversized message: %v", err)
	}
	a.Close()
	if _, _, err := b.Recv(); err == nil {
		t.Error("Recv after the other end closed did not fail")
	}
}

// TestChannelPassesDescriptor passes one end of a pipe and writes through
// the received copy.
func TestChannelPassesDescriptor(t *testing.T) {
	a, b := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := a.Send(Msg{Kind: KindConn, ID: 9}, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, fd, err := b.Recv()
	if err != nil || m.Kind != KindConn || m.ID != 9 || fd < 0 {
		t.Fatalf("Recv: %+v fd %d %v", m, fd, err)
	}
	f := os.NewFile(uintptr(fd), "passed")
	io.WriteString(f, "through the passed fd")
	f.Close()
	got, _ := io.ReadAll(r)
	if string(got) != "through the passed fd" {
		t.Errorf("read %q", got)
	}
}
