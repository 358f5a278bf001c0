package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// SkewWarning is the start skew past which Fleet warns: beyond a few
// milliseconds the segments no longer overlap as the one-process load
// would, and the first seconds of the merged load are lighter.
const SkewWarning = 5 * time.Millisecond

// Fleet sends loads from several hosts, each a segment, started together.
type Fleet struct {
	Hosts []*Host
	// CPUs, when set, pins each host's bench attack (--cpus).
	CPUs string
	// Warn is told of start skews beyond SkewWarning.
	Warn func(string)
}

// Generate is a loadgen.Generator: host i of n runs `bench attack
// --segment i/n --start-at T --json`, T a moment ahead by this machine's
// clock, given to each host in its own; the summaries are merged
// (stats.Merge), with a row per host. Cancelling ctx stops every host's
// attack, which reports what it measured so far. A host that fails fails
// the load, with an error naming it.
func (f *Fleet) Generate(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
	hosts := f.Hosts
	if l.Rate == 0 && l.Connections < len(hosts) {
		// A closed loop of fewer connections than hosts (a connection
		// sweep's first points): a segment each for the first hosts, the
		// others idle, as a segment cannot hold less than one connection.
		hosts = hosts[:max(l.Connections, 1)]
	}
	n := len(hosts)
	// Ahead by twice the slowest host's ssh session setup: each has to
	// connect and start bench before the time comes. One that is late all
	// the same (a busy machine) starts at once, and shows in the skew.
	var lead time.Duration
	for _, h := range hosts {
		lead = max(lead, h.Setup)
	}
	start := time.Now().Add(500*time.Millisecond + 2*lead)
	parts := make([]stats.Part, n)
	errs := make([]error, n)
	// A host that fails stops the others: the load is no longer the one
	// asked for.
	hostCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	first := -1 // the host that failed first
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, h := range hosts {
		off := h.Clock.OffsetMs
		parts[i] = stats.Part{Host: h.Spec.String(), ClockOffsetMs: &off, ClockRTTMs: h.Clock.RTTMs}
		at := start.Add(time.Duration(off * 1e6)).UTC()
		args := attackArgs(l, loadgen.Segment{Index: i + 1, Count: n}, at, f.CPUs)
		wg.Go(func() {
			if parts[i].Summary, errs[i] = h.attack(hostCtx, args); errs[i] != nil {
				mu.Lock()
				if first < 0 && hostCtx.Err() == nil {
					first = i
				}
				mu.Unlock()
				stopAll()
			}
		})
	}
	wg.Wait()
	if first >= 0 && ctx.Err() == nil {
		return nil, &Error{Host: parts[first].Host, Err: errs[first]}
	}
	var got []stats.Part
	for _, p := range parts {
		if p.Summary != nil {
			got = append(got, p)
		}
	}
	if len(got) == 0 {
		return nil, ctx.Err()
	}
	m, err := stats.Merge(got)
	if err != nil {
		return nil, err
	}
	if f.Warn != nil {
		var skew float64
		for _, h := range m.LoadHosts {
			skew = max(skew, h.StartSkewMs)
		}
		if skew > float64(SkewWarning)/1e6 {
			f.Warn(fmt.Sprintf("the load hosts started %.1f ms apart (more than %v): check their clocks (chrony, ntpd) and the offsets measured", skew, SkewWarning))
		}
	}
	return m, nil
}

// attackArgs is the bench attack command line of a segment of l.
func attackArgs(l loadgen.Load, seg loadgen.Segment, at time.Time, cpus string) []string {
	a := []string{"attack", l.URL, "-c", strconv.Itoa(l.Connections), "-d", l.Duration.String(),
		"--segment", seg.String(), "--start-at", at.Format(time.RFC3339Nano), "--start-late-ok", "--json"}
	if l.Rate > 0 {
		a = append(a, "--rate", strconv.Itoa(int(l.Rate+0.5)))
	}
	if l.NoKeepAlive {
		a = append(a, "--no-keepalive")
	}
	if l.ProbeIdle {
		a = append(a, "--probe-idle")
	}
	if l.Engine != "" {
		a = append(a, "--engine", l.Engine)
	}
	if l.Workers > 0 {
		a = append(a, "--workers", strconv.Itoa(l.Workers))
	}
	if cpus != "" {
		a = append(a, "--cpus", cpus)
	}
	return a
}

// attackGrace is how long a host's attack may take to report after it was
// told to stop, before its ssh is killed.
const attackGrace = 15 * time.Second

// attack runs bench attack on the host and reads its JSON summary. When
// ctx ends, it closes the lifeline: the attack stops and prints what it
// measured, which is returned.
func (h *Host) attack(ctx context.Context, args []string) (*results.Summary, error) {
	a := h.argv(h.remoteArgs(args))
	cmd := exec.CommandContext(ctx, a[0], a[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// Cut the lifeline: the remote attack gets SIGTERM and reports; past
	// the grace, ssh is killed (and the session's end stops the attack).
	cmd.Cancel = in.Close
	cmd.WaitDelay = attackGrace
	var stdout bytes.Buffer
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	err = cmd.Wait()
	var s results.Summary
	if jerr := json.Unmarshal(bytes.TrimSpace(lastLine(stdout.Bytes())), &s); jerr == nil && s.Histogram != nil {
		return &s, nil // an interrupted attack exits non-zero with its summary
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, errors.New(sshError(stderr.last(), ee.ExitCode()))
		}
		return nil, err
	}
	return nil, fmt.Errorf("bench attack printed no summary: %s", stderr.last())
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
