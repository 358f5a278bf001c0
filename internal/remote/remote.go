// Package remote runs bench on other machines over the system ssh
// binary, so that ~/.ssh/config, agents and jump hosts work as they do
// for the user: it ships the bench binary to a host once per run, runs
// `bench serve` and `bench attack` there, measures the host's clock
// against this one, and leaves nothing behind.
//
// Every remote process runs under `bench lifeline`, which exits, and
// stops the process group it started, when its standard input closes:
// sshd closes it when the session ends, however it ends (the driver's
// Ctrl-C, its ssh killed, the network gone, caught by ServerAlive), so a
// remote process cannot outlive its ssh session. A pseudo-terminal
// (ssh -tt) would have sshd send SIGHUP instead, but only to the
// terminal's foreground process group, not to a process that set up
// its own (a prefork master's workers survive it), and a terminal
// merges stderr into stdout and rewrites line endings on the way back.
package remote

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
)

// Spec is a host as the user wrote it: [user@]host[:port].
type Spec struct {
	User, Host, Port string
}

// ParseSpec parses [user@]host[:port]; an IPv6 address with a port goes
// in brackets, [::1]:2222.
func ParseSpec(s string) (Spec, error) {
	var sp Spec
	rest := s
	if u, h, ok := strings.Cut(s, "@"); ok {
		sp.User, rest = u, h
		if u == "" {
			return sp, fmt.Errorf("host %q: empty user before @", s)
		}
	}
	switch {
	case strings.HasPrefix(rest, "["):
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			if strings.HasSuffix(rest, "]") {
				h, p, err = strings.Trim(rest, "[]"), "", nil
			} else {
				return sp, fmt.Errorf("host %q: want [user@]host[:port]", s)
			}
		}
		sp.Host, sp.Port = h, p
	case strings.Count(rest, ":") == 1:
		h, p, _ := strings.Cut(rest, ":")
		sp.Host, sp.Port = h, p
	default:
		sp.Host = rest // a name, or an IPv6 address without a port
	}
	if sp.Host == "" || strings.ContainsAny(sp.Host, " \t/@") || strings.HasPrefix(sp.Host, "-") {
		return sp, fmt.Errorf("host %q: want [user@]host[:port]", s)
	}
	if sp.Port != "" {
		if n, err := strconv.Atoi(sp.Port); err != nil || n < 1 || n > 65535 {
			return sp, fmt.Errorf("host %q: port %q is not 1 to 65535", s, sp.Port)
		}
	}
	return sp, nil
}

func (sp Spec) String() string {
	s := sp.Host
	if strings.Contains(s, ":") && sp.Port != "" {
		s = "[" + s + "]"
	}
	if sp.User != "" {
		s = sp.User + "@" + s
	}
	if sp.Port != "" {
		s += ":" + sp.Port
	}
	return s
}

// Options say how to reach hosts.
type Options struct {
	// SSH is the ssh command line, the host and command appended; default
	// ["ssh"].
	SSH []string
	// Exe is the bench binary to ship, statically linked for the hosts'
	// OS and architecture; default this process's executable.
	Exe string
}

// Machine is what a host is.
type Machine struct {
	Arch string `json:"arch"` // GOARCH
	CPUs int    `json:"cpus"` // online CPUs (nproc)
	// CPUList is the CPUs a server there may be pinned to (bench serve
	// --cpus): its cpuset's online CPUs, as bench there reads them, which
	// need not be 0 to CPUs-1.
	CPUList  []int  `json:"cpu_list"`
	CPUModel string `json:"cpu_model"`
	Kernel   string `json:"kernel"`
	Hostname string `json:"hostname"`
}

// Host is a machine reached over ssh, with bench ready on it.
type Host struct {
	Spec Spec
	// Address is where ssh reaches the host: Spec.Host, or the HostName
	// of the ssh configuration's alias Spec.Host (ssh -G). A load is
	// sent there, as an alias means nothing to HTTP.
	Address string
	Machine Machine
	// Bench is the path of bench there: the shipped copy in Dir, or one
	// already on its PATH that is the same binary.
	Bench string
	// Dir is the temporary directory this run made there; Close removes
	// it. Empty when nothing was shipped.
	Dir string
	// Clock is the host's clock against this machine's.
	Clock Clock
	// Setup is how long an ssh session took to answer: the start of a
	// load is set that much (and more) ahead.
	Setup time.Duration

	ssh []string

	mu     sync.Mutex
	pipes  []*os.File // lifelines of the servers started with Command
	served cpuCounter // their CPU, read by ServerStats
}

// Clock is a host's clock offset, measured NTP-style over an ssh
// session: of several round trips, the one that took least, its
// remote time against the midpoint of the local send and receive.
type Clock struct {
	OffsetMs float64 `json:"clock_offset_ms"` // host clock less this one's
	RTTMs    float64 `json:"clock_rtt_ms"`    // of that sample: the offset is right within half of it
	Samples  int     `json:"clock_samples"`
}

// Error is a failure on a host: the message names it.
type Error struct {
	Host string
	Err  error
}

func (e *Error) Error() string { return "host " + e.Host + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Dial reaches the host, learns what it is, makes sure the same bench
// binary is there (shipping it into a temporary directory if not) and
// measures its clock. The error names the host and says what ssh said.
func Dial(ctx context.Context, spec string, o Options) (*Host, error) {
	sp, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	h := &Host{Spec: sp, ssh: o.SSH}
	if len(h.ssh) == 0 {
		h.ssh = []string{"ssh"}
	}
	exe := o.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	sum, err := fileSHA256(exe)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Host, error) { return nil, &Error{Host: sp.String(), Err: err} }
	h.Address = h.hostName(ctx)

	// One session: what the machine is, and whether a bench on its PATH
	// is this very binary.
	probe := `uname -m; nproc; uname -r; hostname; sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1; echo; ` +
		`p=$(command -v bench 2>/dev/null) && sha256sum "$p" 2>/dev/null; true`
	began := time.Now()
	out, err := h.output(ctx, probe, nil)
	if err != nil {
		return fail(err)
	}
	h.Setup = time.Since(began)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) < 5 {
		return fail(fmt.Errorf("unexpected answer to the probe: %q", out))
	}
	h.Machine = Machine{Arch: goarch(lines[0]), Kernel: lines[2], Hostname: lines[3], CPUModel: lines[4]}
	h.Machine.CPUs, _ = strconv.Atoi(lines[1])
	if h.Machine.Arch != runtime.GOARCH {
		return fail(fmt.Errorf("it is %s (%s), this bench is %s/%s: build bench for it (GOOS=linux GOARCH=%s CGO_ENABLED=0 go build ./cmd/bench) and put it on its PATH",
			h.Machine.Arch, lines[0], runtime.GOOS, runtime.GOARCH, h.Machine.Arch))
	}
	if len(lines) >= 7 {
		if f := strings.Fields(lines[6]); len(f) == 2 && f[0] == sum {
			h.Bench = f[1]
		}
	}
	if h.Bench == "" {
		if err := h.ship(ctx, exe); err != nil {
			return fail(err)
		}
	}
	if h.Machine.CPUList, err = h.cpus(ctx); err != nil {
		h.Close()
		return fail(err)
	}
	if h.Clock, err = h.measureClock(ctx); err != nil {
		h.Close()
		return fail(err)
	}
	return h, nil
}

// hostName is the address ssh connects to for the host, as its
// configuration resolves Spec.Host (ssh -G prints it, connecting
// nowhere); Spec.Host where ssh cannot say.
func (h *Host) hostName(ctx context.Context) string {
	a := append(append([]string{}, h.ssh...), "-G")
	if h.Spec.Port != "" {
		a = append(a, "-p", h.Spec.Port)
	}
	dest := h.Spec.Host
	if h.Spec.User != "" {
		dest = h.Spec.User + "@" + dest
	}
	out, err := exec.CommandContext(ctx, a[0], append(a[1:], "--", dest)...).Output()
	if err != nil {
		return h.Spec.Host
	}
	for _, l := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(l, "hostname "); ok && strings.TrimSpace(name) != "" {
			return strings.TrimSpace(name)
		}
	}
	return h.Spec.Host
}

// ship copies exe into a new temporary directory on the host.
func (h *Host) ship(ctx context.Context, exe string) error {
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	script := `set -e; d=$(mktemp -d "${TMPDIR:-/tmp}/corebench.XXXXXXXX"); cat > "$d/bench"; chmod 755 "$d/bench"; echo "$d"`
	out, err := h.output(ctx, script, f)
	if err != nil {
		return fmt.Errorf("copying bench there: %w", err)
	}
	h.Dir = strings.TrimSpace(string(out))
	if !strings.HasPrefix(h.Dir, "/") {
		return fmt.Errorf("copying bench there: unexpected answer %q", out)
	}
	h.Bench = h.Dir + "/bench"
	return nil
}

// cpus asks bench there for the CPUs its servers may be pinned to.
func (h *Host) cpus(ctx context.Context) ([]int, error) {
	out, err := h.output(ctx, Quote(h.Bench)+" cpus", nil)
	if err != nil {
		return nil, fmt.Errorf("reading its CPUs: %w", err)
	}
	cpus, err := affinity.ParseList(string(out))
	if err != nil {
		return nil, fmt.Errorf("bench cpus answered %q", out)
	}
	return cpus, nil
}

// clockRounds is how many round trips the clock is measured over.
const clockRounds = 8

// measureClock runs `bench clock` there: each line sent is answered with
// the host's time.
func (h *Host) measureClock(ctx context.Context) (Clock, error) {
	cmd := exec.CommandContext(ctx, h.ssh[0], h.argv(Quote(h.Bench) + " clock")[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return Clock{}, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return Clock{}, err
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return Clock{}, err
	}
	defer cmd.Wait()
	defer in.Close()
	rd := bufio.NewScanner(outp)
	best := Clock{RTTMs: -1}
	for range clockRounds {
		t0 := time.Now()
		if _, err := io.WriteString(in, "t\n"); err != nil {
			break
		}
		if !rd.Scan() {
			break
		}
		t2 := time.Now()
		ns, err := strconv.ParseInt(strings.TrimSpace(rd.Text()), 10, 64)
		if err != nil {
			return Clock{}, fmt.Errorf("bench clock answered %q", rd.Text())
		}
		rtt := t2.Sub(t0)
		mid := t0.Add(rtt / 2)
		best.Samples++
		if best.RTTMs < 0 || float64(rtt)/1e6 < best.RTTMs {
			best.RTTMs = float64(rtt) / 1e6
			best.OffsetMs = float64(time.Unix(0, ns).Sub(mid)) / 1e6
		}
	}
	if best.Samples < clockRounds {
		in.Close()
		cmd.Wait()
		return Clock{}, fmt.Errorf("measuring its clock: %s", cmp.Or(stderr.last(), "the session ended"))
	}
	return best, nil
}

// Command returns the command that runs bench args on the host under a
// lifeline: the remote process lives as long as the ssh process does.
// Its standard input is a pipe held open until its Cancel (which
// internal/child calls to stop it) or Close: closing it cuts the
// lifeline, the remote process stops in order (a server drains), and ssh
// exits with its status.
func (h *Host) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(h.ssh[0], h.argv(h.remoteArgs(args))[1:]...)
	r, w, err := os.Pipe()
	if err != nil {
		cmd.Err = err
		return cmd
	}
	cmd.Stdin = r
	cmd.Cancel = func() error {
		r.Close() // ssh has its own copy once started
		return w.Close()
	}
	h.mu.Lock()
	h.pipes = append(h.pipes, r, w)
	h.mu.Unlock()
	return cmd
}

// remoteArgs is the remote command line of bench args under a lifeline.
func (h *Host) remoteArgs(args []string) string {
	q := []string{"exec", Quote(h.Bench), "lifeline", "--", Quote(h.Bench)}
	for _, a := range args {
		q = append(q, Quote(a))
	}
	return strings.Join(q, " ")
}

// argv is the ssh command line that runs the remote shell command cmd.
// Our options come after the user's: for each option ssh takes the first
// value given, so theirs win.
func (h *Host) argv(cmd string) []string {
	a := append([]string{}, h.ssh...)
	a = append(a, "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
	if h.Spec.Port != "" {
		a = append(a, "-p", h.Spec.Port)
	}
	dest := h.Spec.Host
	if h.Spec.User != "" {
		dest = h.Spec.User + "@" + dest
	}
	return append(a, "--", dest, cmd)
}

// output runs a shell script on the host and returns its stdout; the
// error is ssh's or the script's last line of stderr.
func (h *Host) output(ctx context.Context, script string, stdin io.Reader) ([]byte, error) {
	a := h.argv(script)
	cmd := exec.CommandContext(ctx, a[0], a[1:]...)
	cmd.Stdin = stdin
	var stdout bytes.Buffer
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	ownGroup(cmd)
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, errors.New(sshError(stderr.last(), ee.ExitCode()))
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Close closes the lifelines of the servers Command started, waits for
// every process running the shipped binary there to exit (killing those
// left after closeGrace), and removes the directory it was shipped into:
// bench reap, there.
func (h *Host) Close() error {
	h.mu.Lock()
	for _, f := range h.pipes {
		f.Close()
	}
	h.pipes = nil
	h.mu.Unlock()
	if h.Dir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := h.output(ctx, strings.Join([]string{Quote(h.Bench), "reap", Quote(h.Dir), closeGrace.String()}, " "), nil)
	if err != nil {
		return &Error{Host: h.Spec.String(), Err: fmt.Errorf("removing %s: %w", h.Dir, err)}
	}
	h.Dir = ""
	return nil
}

// closeGrace is how long Close lets the remote processes finish once
// their lifelines are cut (a server drains, not at once) before it kills
// them.
const closeGrace = 20 * time.Second

// sshError turns ssh's exit into one line: ssh's own message (exit
// status 255: connection, authentication) or the remote command's.
func sshError(last string, code int) string {
	if last == "" {
		if code == 255 {
			return "ssh failed (exit status 255)"
		}
		return fmt.Sprintf("exit status %d", code)
	}
	return last
}

// Quote quotes s for a POSIX shell, leaving a plain word as it is.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func goarch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i686":
		return "386"
	case "armv7l", "armv6l":
		return "arm"
	}
	return machine
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = t.buf[len(t.buf)-4<<10:]
	}
	return len(p), nil
}

// last returns the last non-empty line, without ssh's warnings about
// known hosts.
func (t *tailBuffer) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(t.buf), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if l != "" && !strings.HasPrefix(l, "Warning: Permanently added") {
			return l
		}
	}
	return ""
}

// Reading is what `bench procstat` reads of the servers running on its
// host, at one moment: the CPU seconds of each of their processes by pid
// (one that could not be read is absent, as in proc.CPU), which of them
// are the servers' first processes (a prefork master), their peak
// resident memory summed, and their count.
type Reading struct {
	CPU     proc.CPU `json:"cpu_s"`
	Masters []int    `json:"masters"`
	RSS     int64    `json:"rss_bytes"`
	Procs   int      `json:"procs"`
}

// ServerStats is what a Host reads of the servers Command started there.
// CPU and MasterCPU (the masters' part) are counters of CPU seconds kept
// by the Host: each reading adds what every process used since the one
// before, process by process, as the suite reads a local server (one
// born since from its birth; one gone, a restarted worker, or one that
// could not be read takes nothing away), so the difference of two
// readings is the CPU the servers used between them. RSS and Procs are
// the moment's.
type ServerStats struct {
	CPU       float64
	MasterCPU float64
	RSS       int64
	Procs     int
}

// cpuCounter turns readings of processes into the counters of
// ServerStats.
type cpuCounter struct {
	last        Reading
	cpu, master float64
}

// add counts a reading.
func (c *cpuCounter) add(r Reading) {
	c.cpu += r.CPU.Since(c.last.CPU)
	masters := func(r Reading) proc.CPU {
		m := proc.CPU{}
		for _, pid := range r.Masters {
			if s, ok := r.CPU[pid]; ok {
				m[pid] = s
			}
		}
		return m
	}
	c.master += masters(r).Since(masters(c.last))
	c.last = r
}

// ServerStats reads the servers Command started there, over a new ssh
// session.
func (h *Host) ServerStats(ctx context.Context) (ServerStats, error) {
	var r Reading
	out, err := h.output(ctx, Quote(h.Bench)+" procstat "+Quote(h.Bench), nil)
	if err != nil {
		return ServerStats{}, &Error{Host: h.Spec.String(), Err: fmt.Errorf("reading the server's CPU: %w", err)}
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return ServerStats{}, &Error{Host: h.Spec.String(), Err: fmt.Errorf("bench procstat answered %q", out)}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.served.add(r)
	return ServerStats{CPU: h.served.cpu, MasterCPU: h.served.master, RSS: r.RSS, Procs: r.Procs}, nil
}
