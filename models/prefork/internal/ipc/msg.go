package ipc

import (
	"encoding/binary"
	"fmt"
)

// Kind is the type of an IPC message.
type Kind uint8

// Message kinds. "m" is the master, "w" a worker.
const (
	KindReady        Kind = iota + 1 // w->m: accepting connections; reuseport: its listening socket attached
	KindConn                         // m->w: an accepted connection, its fd attached; ID names the handoff
	KindConnAck                      // w->m: handoff ID taken or refused: Val is ConnTaken, ConnRefused or ConnNoFDs
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

// What a worker answers a passed connection with, in KindConnAck's Val.
const (
	ConnRefused = 0 // it takes no more (draining): give it to another
	ConnTaken   = 1 // the worker has its own descriptor now
	ConnNoFDs   = 2 // it is out of file descriptors: give it to another, and this one none for a while
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
