// Package prefork runs the workload as a master and N worker processes
// sharing one port: the Go counterpart of Node's cluster module and PM2's
// cluster mode.
//
// Workers are this same binary re-executed with WorkerEnv set, so a program
// that uses this package must check IsWorker at the top of main (or of
// TestMain) and run RunWorker there; nothing may be shared between workers
// through memory, which is the point of the model. The master talks to each
// worker over one SOCK_SEQPACKET socket (fd 3), which also carries the
// descriptors of connections under the rr policy.
//
// Scheduling policies:
//   - rr: only the master accepts, and passes each connection to the next
//     ready worker, like Node's SCHED_RR. A worker acknowledges each one.
//     What it refuses goes to another, and one out of file descriptors is
//     passed none for a backoff; one that leaves a connection
//     unacknowledged for a second (stopped, wedged) is passed none until
//     it answers, and is restarted after Options.UnresponsiveRestart.
//     While no worker can take a connection, the master stops accepting.
//   - os: every worker accepts on one inherited socket (fd 4); the kernel
//     picks, like Node's SCHED_NONE.
//   - reuseport: each worker listens on its own SO_REUSEPORT socket; the
//     kernel hashes connections over them.
//
// A worker that dies is restarted under the crash policy (Policy), from
// the first start on; with every slot errored the server stops listening,
// until a reload or scale starts a worker.
//
// The supervisor (supervise.go, rolling.go: slots, crash policy, backoff,
// reload, scale, drain) reaches processes and timers only through env, so
// its tests run it with fake workers; spawn.go is the real env. One
// goroutine owns its state, as cloudflare/tableflip's run loop does: the
// reapers, IPC readers, timers, the sampler and the control socket hand it
// what to do and wait until it has (Master.do), so a change has one order
// and no lock. Only the data path stays off it, as a round trip per
// connection would cost throughput: the accept loops and dispatch read the
// rotation and the accept gate the owner publishes (an atomic pointer),
// and each worker's connections in flight are under its own mutex. Other
// programs follow a master through its Events on the control socket
// (control.Client.Watch, bench logs --events), never by reading its log,
// whose lines are for people. Package control holds the client side of the
// control socket (its wire types, Status, Event, Client); the server is
// here (control.go).
//
// Linux only: elsewhere every operation returns ErrUnsupported.
package prefork
