package proc

import (
	"time"

	"golang.org/x/sys/unix"
)

// WaitGone waits until every pid has exited, reaping those that are this
// process's children (as orphans become under a child subreaper), and
// returns the pids still alive at the timeout, after killing them.
func WaitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	var left []int
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone, and reaped
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			ms := max(int(time.Until(deadline)/time.Millisecond), 0)
			n, err := unix.Poll(fds, ms)
			if err == unix.EINTR {
				continue
			}
			if n == 0 {
				left = append(left, pid)
				unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			}
			break
		}
		unix.Close(fd)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil) // reap it if it is ours; ECHILD at once if not
	}
	return left
}

// ReapOrphans makes this process a child subreaper: processes orphaned
// below it become its children, so WaitGone can reap them.
func ReapOrphans() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
