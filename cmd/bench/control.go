package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/prefork/control"
)

// The PM2-style commands: each talks to a running prefork master over its
// control socket.
func init() {
	register(&command{
		name: "ps", summary: "List the workers of a running prefork server, like pm2 ls",
		usage: "ps [--control PATH] [--json]",
		examples: `  bench ps                     # slot, pid, status, uptime, restarts, requests served, in flight, connections, CPU %, memory
  bench ps --json              # the same for scripts
  bench ps --control /run/user/1000/corebench/master-4242.sock   # when several masters run`,
		run: runPS,
	})
	register(&command{
		name: "top", summary: "Watch the workers of a running prefork server, refreshed every second, like pm2 monit",
		usage: "top [--control PATH] [--count N]",
		examples: `  bench top                    # until Ctrl-C
  bench top --count 5          # five refreshes, then exit`,
		run: runTop,
	})
	register(&command{
		name: "reload", summary: "Replace every worker of a running prefork server without dropping a request",
		usage: "reload [--control PATH] [--parallel K]",
		examples: `  bench reload                 # one slot at a time: start the new worker, wait until it is ready, drain the old
  bench reload --parallel 2    # two slots at a time
  kill -HUP <master pid>       # the same, by signal`,
		run: runReload,
	})
	register(&command{
		name: "scale", summary: "Grow or shrink a running prefork server to N workers, or by N, while it serves",
		usage: "scale N|+N|-N|max|max-K [--control PATH]",
		examples: `  bench scale 8                # 8 workers
  bench scale +2               # two more, as pm2 scale app +2
  bench scale -1               # one fewer
  bench scale max-1            # one per CPU of the server, less one`,
		run: runScale,
	})
	register(&command{
		name: "logs", summary: "Follow the merged, prefixed logs of a running prefork server, like pm2 logs",
		usage: "logs [--control PATH] [--no-follow] [--events]",
		examples: `  bench logs                   # the recent lines, then every new one until Ctrl-C
  bench logs --no-follow       # only the recent lines
  bench logs --events          # the master's events instead, one JSON object a line, for scripts`,
		run: runLogs,
	})
}

// masterFlags is how a command reaches its master: --control and --timeout.
type masterFlags struct {
	path    string
	timeout time.Duration
}

// controlFlags adds --control and --timeout to fs.
func controlFlags(fs *pflag.FlagSet) *masterFlags {
	c := &masterFlags{}
	fs.StringVar(&c.path, "control", "", "the master's control socket (needed only when several masters run)")
	fs.DurationVar(&c.timeout, "timeout", control.DefaultTimeout, "give up on a master that sends nothing for this long (it sends a heartbeat while it works)")
	return c
}

// master resolves which master to talk to: --control, or the only one
// running. With several, the error lists them.
func (c *masterFlags) master(ctx context.Context) (control.Client, error) {
	if c.timeout <= 0 {
		return control.Client{}, usagef("--timeout %v: want a positive duration", c.timeout)
	}
	if c.path != "" {
		return control.Client{Path: c.path, Timeout: c.timeout}, nil
	}
	socks, err := control.Masters()
	if err != nil {
		return control.Client{}, err
	}
	switch len(socks) {
	case 0:
		return control.Client{}, errors.New("no prefork master is running here; start one with: bench serve --model prefork")
	case 1:
		return control.Client{Path: socks[0], Timeout: c.timeout}, nil
	}
	var list []string
	for _, p := range socks {
		desc := p
		if st, err := (control.Client{Path: p, Timeout: c.timeout}).Status(ctx); err == nil {
			desc = fmt.Sprintf("%s (pid %d, %s, %s, %d workers)", p, st.Info.PID, st.Info.URL(), st.Info.Name(), len(st.Workers))
		} else if errors.Is(err, control.ErrNotResponding) {
			desc += " (not responding)"
		}
		list = append(list, desc)
	}
	return control.Client{}, fmt.Errorf("%d prefork masters are running; pick one with --control: %s", len(socks), strings.Join(list, "; "))
}

func runPS(c *cli, args []string) error {
	fs := c.flags()
	target := controlFlags(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signalContext()
	defer stop()
	cl, err := target.master(ctx)
	if err != nil {
		return err
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(st)
	}
	printStatus(c.stdout, st, nil, 0)
	return nil
}

func runTop(c *cli, args []string) error {
	fs := c.flags()
	target := controlFlags(fs)
	count := fs.Int("count", 0, "refreshes before exiting; 0 runs until Ctrl-C")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *count < 0 {
		return usagef("--count %d: want 0 or more", *count)
	}
	if c.smoke {
		*count = 1
	}
	ctx, stop := signalContext()
	defer stop()
	cl, err := target.master(ctx)
	if err != nil {
		return err
	}
	tty := isTerminal(c.stdout)
	var prev *control.Status
	var prevAt time.Time
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; *count == 0 || i < *count; i++ {
		st, err := cl.Status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := time.Now()
		if tty {
			fmt.Fprint(c.stdout, "\033[H\033[2J") // home, clear
		} else if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		printStatus(c.stdout, st, prev, now.Sub(prevAt))
		prev, prevAt = &st, now
		if *count != 0 && i == *count-1 {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// printStatus prints the master's line and the worker table; with prev,
// a req/s column from the served counts' change over dt.
func printStatus(w io.Writer, st control.Status, prev *control.Status, dt time.Duration) {
	i := st.Info
	fmt.Fprintf(w, "master pid %d · %s · %s · up %s · shared counter %d\n", i.PID, i.Name(), i.URL(), roundDur(st.Uptime), st.Counter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "SLOT\tPID\tSTATUS\tUPTIME\tRESTARTS\tSERVED\tIN FLIGHT\tCONNS\tCPU\tMEM"
	if prev != nil {
		head += "\tREQ/S"
	}
	fmt.Fprintln(tw, head)
	before := map[int]int64{}
	if prev != nil {
		for _, r := range prev.Workers {
			before[r.PID] = r.Served
		}
	}
	for _, r := range st.Workers {
		pid, up, cpu, mem := "-", "-", "-", "-"
		if r.PID > 0 {
			pid, up = strconv.Itoa(r.PID), roundDur(r.Uptime)
			cpu, mem = fmt.Sprintf("%.1f%%", r.CPU), fmt.Sprintf("%.1f MB", float64(r.RSS)/(1<<20))
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s", r.Slot, pid, r.State, up, r.Restarts, known(r.Served), known(r.InFlight), known(r.Conns), cpu, mem)
		if prev != nil {
			rate := "-"
			if b, ok := before[r.PID]; ok && r.Served >= 0 && b >= 0 && dt > 0 {
				rate = fmt.Sprintf("%.0f", float64(r.Served-b)/dt.Seconds())
			}
			line += "\t" + rate
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// known formats a count a worker reported; -1 (no answer) shows as "?".
func known(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func runReload(c *cli, args []string) error {
	fs := c.flags()
	target := controlFlags(fs)
	parallel := fs.Int("parallel", 1, "slots replaced at a time")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *parallel < 1 {
		return usagef("--parallel %d: want 1 or more", *parallel)
	}
	ctx, stop := signalContext()
	defer stop()
	cl, err := target.master(ctx)
	if err != nil {
		return err
	}
	return cl.Reload(ctx, *parallel, func(s string) { fmt.Fprintln(c.stdout, s) })
}

func runScale(c *cli, args []string) error {
	fs := c.flags()
	target := controlFlags(fs)
	// -1 is a count, not a flag: none of scale's flags is a number.
	var rest, counts []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			counts, i = append(counts, args[i+1:]...), len(args)
		case len(a) > 1 && a[0] == '-' && strings.Trim(a[1:], "0123456789") == "":
			counts = append(counts, a)
		default:
			rest = append(rest, a)
		}
	}
	if err := c.parse(fs, rest); err != nil {
		return err
	}
	counts = append(fs.Args(), counts...)
	if len(counts) != 1 {
		return usagef("want one worker count, e.g. bench scale 8 (or +2, -1, max, max-1)")
	}
	count, err := models.ParseCount(counts[0])
	if err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signalContext()
	defer stop()
	cl, err := target.master(ctx)
	if err != nil {
		return err
	}
	n, from := 0, 0
	if count.Relative() || count.IsMax() {
		// What the count comes to depends on the server: its workers now,
		// its CPUs.
		st, err := cl.Status(ctx)
		if err != nil {
			return err
		}
		cur, cpus := len(slotsOf(st)), st.CPUs
		if n, err = count.Resolve(cur, cpus); err != nil {
			return usagef("%v", err)
		}
		if count.Relative() {
			from = cur
			fmt.Fprintf(c.stdout, "%s: %s (%d now)\n", counts[0], plural(n, "worker"), cur)
		} else {
			fmt.Fprintf(c.stdout, "%s: %s (%s)\n", counts[0], plural(n, "worker"), plural(cpus, "CPU"))
		}
	} else if n, err = count.Resolve(0, 0); err != nil {
		return usagef("%v", err)
	}
	return cl.ScaleFrom(ctx, from, n, func(s string) { fmt.Fprintln(c.stdout, s) })
}

// slotsOf returns the slots of a status: a slot whose worker is being
// replaced has two rows.
func slotsOf(st control.Status) map[int]bool {
	slots := map[int]bool{}
	for _, w := range st.Workers {
		slots[w.Slot] = true
	}
	return slots
}

// plural returns n and what it counts, an s added unless n is 1.
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func runLogs(c *cli, args []string) error {
	fs := c.flags()
	target := controlFlags(fs)
	noFollow := fs.Bool("no-follow", false, "print the recent lines and exit")
	events := fs.Bool("events", false, "print the master's events (worker started, online, crashed, restarting, errored, draining, exited, replaced, failed, scaled) as JSON lines instead of the log")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	cl, err := target.master(ctx)
	if err != nil {
		return err
	}
	follow := !*noFollow && !c.smoke
	if *events {
		enc := json.NewEncoder(c.stdout)
		return cl.Events(ctx, follow, func(e control.Event) { enc.Encode(e) })
	}
	return cl.Logs(ctx, follow, func(l string) { fmt.Fprintln(c.stdout, l) })
}
