//go:build linux

package prefork

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models/prefork/internal/ipc"
)

// This file is the supervisor's real env: worker processes are this binary
// re-executed with WorkerEnv, their IPC end as fd 3, a listening socket as
// fd 4, their output piped into the log sink.

// osEnv returns the env that starts exe args as workers and logs their
// output to log.
func osEnv(exe string, args []string, log *logSink) env {
	return env{
		spawn:     func(w workerSpec) (process, *ipc.Channel, error) { return spawnWorker(exe, args, log, w) },
		now:       time.Now,
		afterFunc: func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
	}
}

// osProcess is a worker process started by spawnWorker.
type osProcess struct {
	cmd    *exec.Cmd
	logs   *os.File      // the read end of its output pipe
	logged chan struct{} // closed once its output reached EOF
	last   lastLine
}

func (p *osProcess) Pid() int         { return p.cmd.Process.Pid }
func (p *osProcess) Kill() error      { return p.cmd.Process.Kill() }
func (p *osProcess) LastLine() string { return p.last.get() }

func (p *osProcess) Wait() error {
	err := p.cmd.Wait()
	// Its last words explain a crash; they are in the pipe unless
	// something it started still holds the pipe open.
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-p.logged:
	case <-t.C:
	}
	p.logs.Close()
	return err
}

// spawnWorker starts one worker pinned to w.cpus, and returns it with the
// master's end of its IPC channel.
func spawnWorker(exe string, args []string, log *logSink, w workerSpec) (process, *ipc.Channel, error) {
	mine, theirs, err := ipc.Pair()
	if err != nil {
		return nil, nil, err
	}
	cfg, _ := json.Marshal(w.cfg)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(cfg))
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	var inherited *os.File
	if w.listener >= 0 {
		if inherited, err = fileOf(w.listener, "listener"); err != nil {
			mine.Close()
			theirs.Close()
			return nil, nil, err
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, inherited) // fd 4
	}
	// A worker dies with the master, even when the master is SIGKILLed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		mine.Close()
		theirs.Close()
		if inherited != nil {
			inherited.Close()
		}
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = affinity.StartPinned(cmd, w.cpus)
	theirs.Close()
	pw.Close()
	if inherited != nil {
		inherited.Close()
	}
	if err != nil {
		mine.Close()
		pr.Close()
		return nil, nil, err
	}
	p := &osProcess{cmd: cmd, logs: pr, logged: make(chan struct{})}
	go func() {
		log.copyLines(pr, fmt.Sprintf("[worker %d pid %d] ", w.cfg.Slot, p.Pid()), &p.last)
		close(p.logged)
	}()
	return p, mine, nil
}

func closeFD(fd int) { unix.Close(fd) }

// dupFD returns a close-on-exec duplicate of ln's socket, non-blocking
// like the original.
func dupFD(ln *net.TCPListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return dup, derr
}

// fileOf wraps a duplicate of fd in an *os.File, to pass to a child; the
// caller closes it after the start.
func fileOf(fd int, name string) (*os.File, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(d), name), nil
}
