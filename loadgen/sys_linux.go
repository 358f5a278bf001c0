package loadgen

import (
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/internal/proc"
)

// allowedCPUs returns the CPUs this process may run on (its affinity, as
// set by taskset or `bench attack --cpus`), at most GOMAXPROCS.
func allowedCPUs() int {
	var set unix.CPUSet
	n := runtime.NumCPU()
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() > 0 {
		n = set.Count()
	}
	return min(n, runtime.GOMAXPROCS(0))
}

// affinityList returns the CPUs the process may run on, nil if unknown.
func affinityList() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var out []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// descriptors returns the soft and hard RLIMIT_NOFILE and how many file
// descriptors the process has open.
func descriptors() (soft, hard uint64, open int, ok bool) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, 0, false
	}
	if open, ok = proc.OpenFiles(); !ok {
		return 0, 0, 0, false
	}
	return lim.Cur, lim.Max, open, true
}

// cpuTime returns the CPU time, user and system, the process used so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waiter sleeps with microsecond precision. Go's timers wake a process
// that is otherwise idle through the network poller's epoll_wait, whose
// timeout has millisecond granularity, which would add up to 1 ms to
// every open-loop send. A timerfd waited on through the runtime poller
// (a non-blocking os.File) wakes epoll_wait on the microsecond instead.
//
// (Arming a Go timer beside a timerfd that only nudges the poller, so
// that a busy scheduler fires the Go timer on time, measured worse: with
// more than one P the nudged thread often does not run the timer.)
//
// The timer is armed from inside RawConn.Read's callback, after the
// poller's readiness was reset, so that a timer expiring at once cannot
// be missed; and the first callback returns false without trying a read
// that could only fail: one timerfd_settime and one read per wait.
type waiter struct {
	f     *os.File
	rc    syscall.RawConn
	d     time.Duration
	armed bool
	err   error
	cb    func(uintptr) bool
	b     [8]byte
}

func newWaiter() (*waiter, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	w := &waiter{f: os.NewFile(uintptr(fd), "timerfd")}
	if w.rc, err = w.f.SyscallConn(); err != nil {
		w.f.Close()
		return nil, err
	}
	w.cb = w.readable
	return w, nil
}

// wait sleeps for d; it returns an error once the waiter is closed.
func (w *waiter) wait(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	w.d, w.armed, w.err = d, false, nil
	if err := w.rc.Read(w.cb); err != nil {
		return err
	}
	return w.err
}

func (w *waiter) readable(fd uintptr) bool {
	if !w.armed {
		w.armed = true
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(w.d))}
		if err := unix.TimerfdSettime(int(fd), 0, &spec, nil); err != nil {
			w.err = os.NewSyscallError("timerfd_settime", err)
			return true
		}
		return false
	}
	for {
		_, err := unix.Read(int(fd), w.b[:])
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case nil:
		default:
			w.err = os.NewSyscallError("read timerfd", err)
		}
		return true
	}
}

// close wakes a wait in progress, which then returns an error.
func (w *waiter) close() error { return w.f.Close() }
