//go:build linux

package prefork

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func pair(t *testing.T) (*Channel, *Channel) {
	t.Helper()
	a, f, err := socketpair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := channelFromFile(f)
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
		{Kind: KindSend, Aux: -1, Data: bytes.Repeat([]byte("x"), maxPayload)},
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
	if err := a.Send(Msg{Data: make([]byte, maxPayload+1)}, -1); err != ErrTooLarge {
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

// fakeProc is a proc with no process behind it, for dispatch tests.
func fakeProc(index, queue int) *proc {
	return &proc{slot: &slot{index: index}, queue: make(chan handoff, queue), pending: map[uint64]int{}, exited: make(chan struct{})}
}

func TestDispatchSkipsFullDeadAndRefusing(t *testing.T) {
	m := &Master{changed: make(chan struct{})}
	a, b, c := fakeProc(0, 1), fakeProc(1, 1), fakeProc(2, 1)
	m.slots = []*slot{a.slot, b.slot, c.slot}
	for _, p := range []*proc{a, b, c} {
		p.slot.cur, p.ready, p.slot.state = p, true, StateOnline
	}
	m.rebuildLocked()
	m.dispatch(handoff{id: 1, fd: -1}, nil) // a
	m.dispatch(handoff{id: 2, fd: -1}, b)   // b refused it: c
	b.dead = true
	m.dispatch(handoff{id: 3, fd: -1}, nil) // a and c full, b dead: parked
	if len(a.queue) != 1 || len(b.queue) != 0 || len(c.queue) != 1 {
		t.Fatalf("queues a=%d b=%d c=%d, want 1 0 1", len(a.queue), len(b.queue), len(c.queue))
	}
	if len(m.parked) != 1 || m.parked[0].id != 3 {
		t.Fatalf("parked %v, want handoff 3", m.parked)
	}
}

func TestRouteGoesThroughMaster(t *testing.T) {
	m := &Master{changed: make(chan struct{})}
	var ends []*Channel
	var procs []*proc
	for i := range 3 {
		mine, theirs := pair(t)
		p := fakeProc(i, 1)
		p.ch, p.ready = mine, true
		p.slot.cur = p
		m.slots = append(m.slots, p.slot)
		procs, ends = append(procs, p), append(ends, theirs)
	}
	m.route(procs[0], Msg{Kind: KindSend, Aux: 2, Data: []byte("hi 2")})
	m.route(procs[1], Msg{Kind: KindSend, Aux: -1, Data: []byte("hi all")})
	want := map[int][]string{0: {"1:hi all"}, 2: {"0:hi 2", "1:hi all"}}
	for slot, msgs := range want {
		for _, w := range msgs {
			got, _, err := ends[slot].Recv()
			if err != nil || got.Kind != KindMessage || string(rune('0'+got.Aux))+":"+string(got.Data) != w {
				t.Errorf("worker %d received %+v %v, want %s", slot, got, err, w)
			}
		}
	}
	// The sender does not hear its own broadcast.
	ends[1].c.SetReadDeadline(deadlineNow())
	if _, _, err := ends[1].Recv(); err == nil {
		t.Error("worker 1 received its own broadcast")
	}
}
