//go:build linux

package prefork

import (
	"io"
	"testing"
	"time"

	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// pair returns the two ends of a new channel, closed when the test ends.
func pair(t *testing.T) (*ipc.Channel, *ipc.Channel) {
	t.Helper()
	a, f, err := ipc.Pair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ipc.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// fakeProc is a proc with no process behind it, for dispatch tests.
func fakeProc(index, queue int) *proc {
	return &proc{slot: &slot{index: index}, queue: make(chan handoff, queue), pending: map[uint64]int{}, exited: make(chan struct{}), shut: make(chan struct{})}
}

func TestDispatchSkipsFullDeadAndRefusing(t *testing.T) {
	m := newMaster(Options{}, newLogSink(io.Discard), env{now: time.Now})
	a, b, c := fakeProc(0, 1), fakeProc(1, 1), fakeProc(2, 1)
	m.slots = []*slot{a.slot, b.slot, c.slot}
	for _, p := range []*proc{a, b, c} {
		p.slot.cur, p.ready, p.slot.state = p, true, control.StateOnline
	}
	m.do(m.rebuild)
	m.dispatch(handoff{id: 1, fd: -1}, nil) // a
	m.dispatch(handoff{id: 2, fd: -1}, b)   // b refused it: c
	b.mu.Lock()
	b.dead = true
	b.mu.Unlock()
	m.dispatch(handoff{id: 3, fd: -1}, nil) // a and c full, b dead: parked
	if len(a.queue) != 1 || len(b.queue) != 0 || len(c.queue) != 1 {
		t.Fatalf("queues a=%d b=%d c=%d, want 1 0 1", len(a.queue), len(b.queue), len(c.queue))
	}
	var parked []handoff
	m.do(func() { parked = m.parked })
	if len(parked) != 1 || parked[0].id != 3 {
		t.Fatalf("parked %v, want handoff 3", parked)
	}
}

func TestRouteGoesThroughMaster(t *testing.T) {
	m := newMaster(Options{}, newLogSink(io.Discard), env{now: time.Now})
	var ends []*ipc.Channel
	var procs []*proc
	for i := range 3 {
		mine, theirs := pair(t)
		p := fakeProc(i, 1)
		p.ch, p.ready = mine, true
		p.slot.cur = p
		m.slots = append(m.slots, p.slot)
		procs, ends = append(procs, p), append(ends, theirs)
	}
	m.route(procs[0], ipc.Msg{Kind: ipc.KindSend, Aux: 2, Data: []byte("hi 2")})
	m.route(procs[1], ipc.Msg{Kind: ipc.KindSend, Aux: -1, Data: []byte("hi all")})
	want := map[int][]string{0: {"1:hi all"}, 2: {"0:hi 2", "1:hi all"}}
	for slot, msgs := range want {
		for _, w := range msgs {
			got, _, err := ends[slot].Recv()
			if err != nil || got.Kind != ipc.KindMessage || string(rune('0'+got.Aux))+":"+string(got.Data) != w {
				t.Errorf("worker %d received %+v %v, want %s", slot, got, err, w)
			}
		}
	}
	// The sender does not hear its own broadcast: the next thing worker 1
	// receives is what worker 0 sends it now.
	m.route(procs[0], ipc.Msg{Kind: ipc.KindSend, Aux: 1, Data: []byte("after")})
	if got, _, err := ends[1].Recv(); err != nil || got.Aux != 0 || string(got.Data) != "after" {
		t.Errorf("worker 1 received %+v %v, want worker 0's message (not its own broadcast)", got, err)
	}
}
