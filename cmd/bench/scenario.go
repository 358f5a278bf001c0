package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/scenario"
	"github.com/corebench/corebench/suite"
)

func init() {
	register(&command{
		name:    "scenario",
		summary: "Crash, reload, scale or stall a server under a steady load, or break its state, and chart what it cost",
		usage:   "scenario crash|reload|scale|state|stall [--model M] [--rate R] [-d DUR] [flags]",
		examples: `  bench scenario crash                          # SIGKILL one of 4 prefork-rr workers at 2000 req/s: only its requests in flight fail
  bench scenario crash --model singlecore       # the whole service is down until it is restarted (here after 1s)
  bench scenario reload                         # rolling reload under load: 0 failed requests
  bench scenario reload --model ` + results.PreforkReusePort.Name + ` --no-handover   # what closing SO_REUSEPORT sockets costs
  bench scenario scale                          # 2 -> 8 -> 2 workers under load: 0 failed requests
  bench scenario state                          # per-process counters and sessions break; the master's counter and sticky work
  bench scenario state --state redis://127.0.0.1:6379   # and the Redis answer
  bench scenario stall --model singlecore       # the server stops for 500 ms: the open loop's p99 shows it
  bench scenario stall --model singlecore --closed   # the closed loop's p99 hides it (coordinated omission)`,
		run: runScenario,
	})
}

func runScenario(c *cli, args []string) error {
	var o scenario.Options
	var model, out string
	var asJSON bool
	fs := c.flags()
	fs.StringVar(&model, "model", results.PreforkRR.Name, "model: "+strings.Join(results.VariantNames(results.Variants()), ", "))
	fs.IntVar(&o.Workers, "workers", 0, "workers (default 4; scale starts at 2)")
	fs.Float64Var(&o.Rate, "rate", 2000, "offered load, requests per second (open loop)")
	fs.StringVar(&o.Path, "path", "/io?ms=5", "what the load requests; /io keeps many requests in flight")
	fs.DurationVarP(&o.Duration, "duration", "d", 6*time.Second, "how long the load runs")
	fs.DurationVar(&o.At, "at", 0, "when the action happens (default: a third of the way; scale acts again at twice that)")
	fs.StringVar(&o.Crash, "crash", "kill", "crash: how the worker dies: kill (SIGKILL) or request (/crash)")
	fs.DurationVar(&o.Restart, "restart", time.Second, "crash, one-process models: how long the supervisor takes to start the server again; negative: never")
	fs.BoolVar(&o.NoHandover, "no-handover", false, "reload, "+results.PreforkReusePort.Name+": new workers bind their own sockets instead of taking over the old ones")
	fs.BoolVar(&o.NoKeepAlive, "no-keepalive", false, "a new connection per request (fills the accept queues)")
	fs.BoolVar(&o.Closed, "closed", false, "a closed loop of --connections instead of --rate: see stall")
	fs.IntVarP(&o.Connections, "connections", "c", 16, "connections to start with (open loop) or to keep busy (--closed)")
	fs.DurationVar(&o.Stall, "stall", 500*time.Millisecond, "stall: how long the server is stopped (SIGSTOP)")
	fs.StringVar(&o.State, "state", "", "state: a store for the production answer, e.g. redis://127.0.0.1:6379")
	fs.IntVar(&o.Requests, "requests", 1000, "state: requests sent to each counter")
	fs.IntVar(&o.Users, "users", 50, "state: users logging in, each from its own loopback address")
	fs.StringVar(&out, "out", "", "directory for the timeline, charts and result.json (default: results/scenario-<name>-<UTC time>)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON instead of the summary")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario: %s", strings.Join(scenario.Names, ", "))
	}
	o.Name = fs.Arg(0)
	var err error
	if o.Model, err = results.ParseVariant(model); err != nil {
		return usagef("--model: %v", err)
	}
	if c.smoke {
		o.Duration, o.At, o.Rate = 1500*time.Millisecond, 0, min(o.Rate, 300)
		o.Requests, o.Users, o.Restart = min(o.Requests, 100), min(o.Users, 8), min(o.Restart, 200*time.Millisecond)
	}
	if o.Rate <= 0 || o.Duration <= 0 || o.Requests <= 0 || o.Users <= 0 || o.Users > 60000 || o.Connections <= 0 || o.Stall <= 0 {
		return usagef("--rate, --duration, --connections, --stall, --requests and --users must be positive (users at most 60000)")
	}
	if err := o.Check(); err != nil {
		return usagef("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-scenario-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o700)
	o.Dir = dir
	o.Serve = func(args ...string) *exec.Cmd { return exec.Command(exe, args...) }
	o.Generate = loadgen.Generate
	o.Log = func(s string) { fmt.Fprintln(c.stderr, s) }

	ctx, stop := signalContext()
	defer stop()
	start := time.Now().UTC()
	r, err := scenario.Run(ctx, o)
	if r == nil {
		return err
	}
	if out == "" {
		out = filepath.Join("results", "scenario-"+o.Name+"-"+start.Format("20060102T150405Z"))
	}
	files, werr := writeScenario(r, out, start)
	if asJSON {
		json.NewEncoder(c.stdout).Encode(r)
	} else {
		printScenario(c.stdout, r, files)
	}
	if err != nil {
		return err
	}
	return werr
}

// writeScenario writes result.json and the scenario's charts into dir.
func writeScenario(r *scenario.Result, dir string, start time.Time) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(r, "", " ")
	p := filepath.Join(dir, "result.json")
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	files := []string{p}
	env := suite.Environment(version, "", "")
	sub := fmt.Sprintf("%s · %d CPUs · %s", env.CPUModel, env.CPUs, start.Format("2006-01-02"))
	if r.State != nil {
		more, err := stateCharts(r.State, dir, sub)
		return append(files, more...), err
	}
	var marks []report.Mark
	for _, a := range r.Actions {
		marks = append(marks, report.Mark{At: a.At, Label: a.Label})
	}
	note := fmt.Sprintf("sent %d, failed %d", r.Sent, r.Failed)
	if r.Recovered >= 0 {
		note += fmt.Sprintf("; back to full throughput without errors %.1f s after the action", r.Recovered)
	}
	more, err := report.WriteTimeline(dir, "timeline", report.Timeline{
		Title:    fmt.Sprintf("%s · %s, %s", r.Scenario, r.Model, plural(r.Workers, "worker")),
		Subtitle: fmt.Sprintf("%s\n%s on %s", sub, loadDesc(r), r.Path),
		Note:     note, Model: r.Model, Rate: r.Rate, Interval: 0.1, Series: r.Load.TimeSeries, Marks: marks,
	})
	return append(files, more...), err
}

func stateCharts(st *scenario.StateResult, dir, sub string) ([]string, error) {
	var files []string
	var labels, models []string
	var values []float64
	for _, w := range st.PerProcess {
		labels = append(labels, fmt.Sprintf("worker %d", w.Slot))
		values = append(values, float64(w.Count))
		models = append(models, "prefork-rr")
	}
	labels = append(labels, "/counter/shared")
	values = append(values, float64(st.Shared))
	models = append(models, "prefork-os")
	if st.Store >= 0 {
		labels = append(labels, "shared in Redis")
		values = append(values, float64(st.Store))
		models = append(models, "goroutines")
	}
	f, err := report.WriteBars(dir, "counters", report.Bars{
		Title: "What each counter counted", Subtitle: sub + fmt.Sprintf("\n%d requests to each, rr over %d workers", st.Requests, len(st.PerProcess)),
		YLabel: "count", Labels: labels, Values: values, Models: models, Ref: float64(st.Requests), RefLabel: "requests sent",
		Note: "/counter is a per-process variable: each worker counts only its own share",
	})
	if err != nil {
		return nil, err
	}
	files = append(files, f...)
	labels, values, models = nil, nil, nil
	for _, s := range st.Sessions {
		labels = append(labels, s.Setup)
		values = append(values, 100*float64(s.Found)/float64(max(s.Lookups, 1)))
		models = append(models, map[bool]string{true: "prefork-sticky", false: "prefork-rr"}[strings.HasPrefix(s.Setup, "sticky")])
	}
	f, err = report.WriteBars(dir, "sessions", report.Bars{
		Title: "Sessions found after logging in", Subtitle: sub + "\neach user asks who they are on new connections",
		YLabel: "% of lookups", Labels: labels, Values: values, Models: models,
		Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }, Ref: 100,
	})
	if err != nil {
		return nil, err
	}
	files = append(files, f...)
	labels, values, models = nil, nil, nil
	for _, c := range st.Costs {
		labels = append(labels, c.Setup)
		values = append(values, c.RPS)
		models = append(models, "prefork-rr")
	}
	f, err = report.WriteBars(dir, "counter-cost", report.Bars{
		Title: "What keeping a counter costs", Subtitle: sub + "\nreq/s of a closed loop, 16 connections",
		YLabel: "req/s", Labels: labels, Values: values, Models: models,
	})
	return append(files, f...), err
}

func printScenario(w io.Writer, r *scenario.Result, files []string) {
	fmt.Fprintf(w, "%s · %s · %s", r.Scenario, r.Model, plural(r.Workers, "worker"))
	if r.State != nil {
		fmt.Fprintln(w)
		printState(w, r.State)
	} else {
		ka := ""
		if !r.KeepAlive {
			ka = ", a new connection per request"
		}
		load := fmt.Sprintf("%.0f req/s", r.Rate)
		if r.Rate == 0 {
			load = fmt.Sprintf("closed loop of %d connections", r.Connections)
		}
		fmt.Fprintf(w, " · %s on %s for %.0f s%s\n", load, r.Path, r.Load.DurationS, ka)
		l := r.Load.Latency
		fmt.Fprintf(w, "latency p50 %s  p99 %s  p99.9 %s  max %s\n", ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max))
		for _, a := range r.Actions {
			fmt.Fprintf(w, "  at %5.2fs  %s (done at %.2fs)\n", a.At, a.Label, a.Done)
		}
		pct := 100 * float64(r.Failed) / float64(max(r.Sent, 1))
		fmt.Fprintf(w, "sent %d, failed %d (%.2f%%)%s\n", r.Sent, r.Failed, pct, kinds(r.ErrorKinds))
		if r.Scenario == "crash" && strings.HasPrefix(r.Model, "prefork") {
			fmt.Fprintf(w, "the killed worker had %d requests in flight on %d open connections\n", r.InFlight, r.Conns)
		}
		switch {
		case r.Recovered < 0:
			fmt.Fprintln(w, "throughput never got back to what it was before the action")
		default:
			fmt.Fprintf(w, "back to full throughput without errors %.1f s after the action\n", r.Recovered)
		}
		if r.Scenario == "stall" {
			if r.Rate > 0 {
				fmt.Fprintln(w, "open loop: latency counts from when each request was due, so every request scheduled during the stall waited for it, and the p99 shows it")
			} else {
				fmt.Fprintf(w, "closed loop: during the stall only the %d requests in flight waited, and nothing else was sent, so the p99 hides it (coordinated omission)\n", r.Connections)
			}
		}
		if r.Load.Saturated {
			fmt.Fprintf(w, "warning: %s\n", r.Load.SaturatedWhy)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	if len(files) > 0 {
		fmt.Fprintf(w, "written: %s\n", strings.Join(files, " "))
	}
}

func printState(w io.Writer, st *scenario.StateResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "COUNTER\tCOUNTED\tOF %d REQUESTS\n", st.Requests)
	for _, c := range st.PerProcess {
		fmt.Fprintf(tw, "/counter in worker %d (pid %d)\t%d\t%.0f%%\n", c.Slot, c.PID, c.Count, 100*float64(c.Count)/float64(st.Requests))
	}
	fmt.Fprintf(tw, "/counter/shared, held by the master\t%d\t%.0f%%\n", st.Shared, 100*float64(st.Shared)/float64(st.Requests))
	if st.Store >= 0 {
		fmt.Fprintf(tw, "/counter/shared, in the store\t%d\t%.0f%%\n", st.Store, 100*float64(st.Store)/float64(st.Requests))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSIONS\tFOUND")
	for _, s := range st.Sessions {
		fmt.Fprintf(tw, "%s\t%d of %d\n", s.Setup, s.Found, s.Lookups)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COST OF A COUNTER\tREQ/S\tP99")
	for _, c := range st.Costs {
		fmt.Fprintf(tw, "%s (%s)\t%.0f\t%s\n", c.Setup, c.Path, c.RPS, ms(c.P99))
	}
	tw.Flush()
}

func kinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return ": " + strings.Join(parts, ", ")
}

func loadDesc(r *scenario.Result) string {
	d := fmt.Sprintf("%.0f req/s open loop", r.Rate)
	if r.Rate == 0 {
		d = fmt.Sprintf("closed loop of %d connections", r.Connections)
	}
	if !r.KeepAlive {
		d += ", a new connection per request"
	}
	if r.NoHandover {
		d += ", no socket handover"
	}
	return d
}
