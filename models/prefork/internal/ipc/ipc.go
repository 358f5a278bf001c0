//go:build linux

package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Kind is the type of an IPC message.
type Kind uint8

// Message kinds. "m" is the master, "w" a worker.
const (
	KindReady        Kind = iota + 1 // w->m: accepting connections; reuseport: its listening socket attached
	KindConn                         // m->w: an accepted connection, its fd attached; ID names the handoff
	KindConnAck                      // w->m: handoff ID taken (Val 1) or refused (Val 0)
	KindCounterAdd                   // w->m: add Val to the shared counter; ID names the request
	KindCounterValue                 // m->w: reply to ID: the new value in Val
	KindStatsRequest                 // m->w: report stats, reply to ID
	KindStats                        // w->m: reply to ID: Val requests served, Aux in flight, Data open connections (uint64 LE)
	KindShutdown                     // m->w: stop accepting, drain, exit
	KindSend                         // w->m: deliver Data to worker slot Aux (-1: every other worker)
	KindMessage                      // m->w: Data sent by worker slot Aux
	KindWorkersAsk                   // w->m: how many workers does the server run? ID names the request
	KindWorkerCount                  // m->w: reply to ID: the worker count in Val
)

// Msg is one IPC message. The channel is a SOCK_SEQPACKET socket, so each
// Msg is one packet and never needs framing.
type Msg struct {
	Kind Kind
	ID   uint64
	Val  int64
	Aux  int64
	Data []byte
}

const (
	headerLen = 1 + 8 + 8 + 8
	// MaxPayload is what one packet may carry in Data.
	MaxPayload = 32 << 10
)

// ErrTooLarge is returned for a message whose Data exceeds MaxPayload.
var ErrTooLarge = fmt.Errorf("ipc message data over %d bytes", MaxPayload)

func (m *Msg) encode(b []byte) []byte {
	b = append(b, byte(m.Kind))
	b = binary.LittleEndian.AppendUint64(b, m.ID)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Val))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Aux))
	return append(b, m.Data...)
}

func decode(b []byte) (Msg, error) {
	if len(b) < headerLen {
		return Msg{}, fmt.Errorf("ipc: short message of %d bytes", len(b))
	}
	m := Msg{
		Kind: Kind(b[0]),
		ID:   binary.LittleEndian.Uint64(b[1:]),
		Val:  int64(binary.LittleEndian.Uint64(b[9:])),
		Aux:  int64(binary.LittleEndian.Uint64(b[17:])),
	}
	if len(b) > headerLen {
		m.Data = append([]byte(nil), b[headerLen:]...)
	}
	return m, nil
}

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
	if flags&syscall.MSG_TRUNC != 0 || flags&syscall.MSG_CTRUNC != 0 {
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
	return m, fd, err
}

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
