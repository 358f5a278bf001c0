package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/remote"
)

// The commands internal/remote runs on other hosts over ssh (with
// procstat, below); not for users, so not in the help.
func init() {
	register(&command{name: "lifeline", hidden: true,
		usage: "lifeline -- COMMAND [ARGS...]: run COMMAND until standard input closes, then stop it and its process group",
		run:   runLifeline})
	register(&command{name: "clock", hidden: true,
		usage: "clock: answer each line of standard input with this machine's time, in ns since 1970",
		run:   runClock})
	register(&command{name: "reap", hidden: true,
		usage: "reap DIR GRACE: wait until no process runs a binary from DIR, killing those left after GRACE, then remove DIR",
		run:   runReap})
	register(&command{name: "cpus", hidden: true,
		usage: "cpus: the CPUs bench serve --cpus may name on this machine (its cpuset's online CPUs), as a list such as 0-3,8",
		run:   runCPUs})
}

// reapRounds bounds how many times runReap looks for processes again:
// one may start another while it stops.
const reapRounds = 10

// runReap waits, with a pidfd each (proc.WaitGone), until no process but
// itself runs a binary from the directory, killing what is left after
// the grace, and removes the directory: what a host's Close runs there
// once the lifelines are cut, as a server drains before it exits.
func runReap(c *cli, args []string) error {
	if len(args) != 2 || !filepath.IsAbs(args[0]) {
		return usagef("want reap DIR GRACE, DIR an absolute path")
	}
	grace, err := time.ParseDuration(args[1])
	if err != nil || grace < 0 {
		return usagef("reap: grace %q: want a duration, e.g. 20s", args[1])
	}
	dir := filepath.Clean(args[0])
	deadline := time.Now().Add(grace)
	for range reapRounds {
		var running []int
		for _, pid := range proc.All() {
			if exe, ok := proc.Exe(pid); ok && pid != os.Getpid() && strings.HasPrefix(exe, dir+"/") {
				running = append(running, pid)
			}
		}
		if len(running) == 0 {
			break
		}
		proc.WaitGone(running, max(time.Until(deadline), 0)) // past the deadline, kills them at once
	}
	return os.RemoveAll(dir)
}

// runCPUs prints the CPUs parseCPUs checks --cpus against.
func runCPUs(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("want cpus")
	}
	cpus, err := affinity.Available()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, affinity.Format(cpus))
	return err
}

// lifelineGrace is how long a command may take to stop once its lifeline
// is cut, before it is killed: long enough for bench attack to print the
// summary of what it measured.
const lifelineGrace = 10 * time.Second

// runLifeline runs a command in its own process group and ties it to
// this process's standard input: when the input closes (the ssh session
// ended, or the driver closed it to stop the command) or this process is
// told to stop, the group gets SIGTERM, then SIGKILL after a grace. The
// command's output is relayed to ours. Its exit status is ours.
func runLifeline(c *cli, args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return usagef("want lifeline -- COMMAND [ARGS...]")
	}
	cmd := exec.Command(args[0], args[1:]...)
	// The command writes to pipes this process relays, not to the ssh
	// session: once the session is gone a write there would kill a Go
	// command with SIGPIPE (a prefork master would die before it drained
	// and removed its control socket). Here the relay drops the output
	// instead, and this process takes SIGPIPE as a write error.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	var relays []chan struct{}
	for _, out := range []struct {
		set func(*os.File)
		to  io.Writer
	}{{func(f *os.File) { cmd.Stdout = f }, os.Stdout}, {func(f *os.File) { cmd.Stderr = f }, os.Stderr}} {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		out.set(w)
		done := make(chan struct{})
		go relay(out.to, r, done)
		relays = append(relays, done)
	}
	cmd.SysProcAttr = lifelineAttr()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return err
	}
	// Only the command holds the pipes' write ends now: they close, and
	// the relays end, when the last of its group exits.
	cmd.Stdout.(*os.File).Close()
	cmd.Stderr.(*os.File).Close()
	defer func() {
		t := time.NewTimer(time.Second) // a process that left the group may hold them
		defer t.Stop()
		for _, d := range relays {
			select {
			case <-d:
			case <-t.C:
				return
			}
		}
	}()
	pgid := cmd.Process.Pid
	cut := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(cut)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	exited := false
	select {
	case err = <-done:
		exited = true
	case <-cut:
	case <-sigs:
	}
	if !exited {
		syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(lifelineGrace)
		select {
		case err = <-done:
		case <-t.C:
			syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-done
		}
		t.Stop()
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // whatever of the group is left
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && exited {
			// Not stopped by us: say so, as its exit status alone would
			// read like ssh's own failure (255).
			return fmt.Errorf("%s %s was killed by signal %v", filepath.Base(args[0]), strings.Join(args[1:min(2, len(args))], " "), ws.Signal())
		}
		return exitStatus(ee.ExitCode())
	}
	return err
}

// relay copies src to dst until src ends; once dst fails (the ssh
// session is gone) it goes on reading, and drops what it reads, so that
// the writer never blocks or fails.
func relay(dst io.Writer, src io.Reader, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 32<<10)
	broken := false
	for {
		n, err := src.Read(buf)
		if n > 0 && !broken {
			_, werr := dst.Write(buf[:n])
			broken = werr != nil
		}
		if err != nil {
			return
		}
	}
}

// exitStatus is an error Main exits with as is, having printed nothing:
// the command printed its own.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

func runClock(c *cli, args []string) error {
	in := bufio.NewScanner(os.Stdin)
	w := bufio.NewWriter(c.stdout)
	for in.Scan() {
		fmt.Fprintln(w, time.Now().UnixNano())
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	register(&command{name: "procstat", hidden: true,
		usage: "procstat EXE: the CPU seconds of each process of every server run by EXE under a lifeline, which are the servers' own, their peak memory and count, as one JSON line",
		run:   runProcstat})
}

// runProcstat reads, on a server host, what the suite reads from /proc
// for a local server: each `bench serve` started under a lifeline by the
// binary exe, with its workers.
func runProcstat(c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("want procstat EXE")
	}
	r := remote.Reading{CPU: proc.CPU{}, Masters: []int{}}
	for _, pid := range lifelineServers(args[0]) {
		tree := proc.Tree(pid)
		maps.Copy(r.CPU, proc.ReadCPU(tree))
		r.Masters = append(r.Masters, pid)
		r.RSS += proc.PeakRSS(tree)
		r.Procs += len(tree)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// lifelineServers are the pids of the `bench serve` processes that
// lifelines of exe started.
func lifelineServers(exe string) []int {
	var out []int
	for _, pid := range proc.All() {
		args := proc.Cmdline(pid)
		if len(args) < 2 || args[1] != "lifeline" {
			continue
		}
		if e, ok := proc.Exe(pid); !ok || e != exe {
			continue
		}
		for _, ch := range proc.Children(pid) {
			if a := proc.Cmdline(ch); len(a) > 1 && a[1] == "serve" {
				out = append(out, ch)
			}
		}
	}
	return out
}
