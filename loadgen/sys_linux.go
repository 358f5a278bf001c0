package loadgen

import (
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
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

// cpuTime returns the CPU time, user and system, the process used so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waiter sleeps until a point in time with microsecond precision. Go's
// timers wake a process that is otherwise idle through the network
// poller's epoll_wait, whose timeout has millisecond granularity, which
// would add up to 1 ms to every open-loop send. A timerfd read through the
// runtime poller (a non-blocking os.File) wakes epoll_wait on the
// microsecond instead.
type waiter struct {
	f  *os.File
	fd int
	b  [8]byte
}

func newWaiter() (*waiter, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	return &waiter{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}, nil
}

// wait sleeps for d; it returns an error once the waiter is closed.
func (w *waiter) wait(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(w.fd, 0, &spec, nil); err != nil {
		return os.NewSyscallError("timerfd_settime", err)
	}
	_, err := w.f.Read(w.b[:])
	return err
}

// close wakes a wait in progress, which then returns an error.
func (w *waiter) close() error { return w.f.Close() }
