// Package ipc is the wire between a prefork master and its workers: one
// SOCK_SEQPACKET socket per worker, one Msg per packet, with at most one
// descriptor attached (a connection under rr, a listening socket under
// reuseport). Calls matches the replies to the requests either end makes.
//
// It is internal so that the wire format can change with the master and
// the worker, which are always the same binary.
package ipc
