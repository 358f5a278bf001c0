package report

import (
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// Where the state scenario keeps its state, when it is not in a worker:
// colours of their own, apart from every model's, so a bar for the master
// or Redis never reads as a model's.
var (
	masterColor = color.RGBA{0x22, 0x22, 0x22, 0xff} // Okabe–Ito black
	storeColor  = color.RGBA{0xF0, 0xE4, 0x42, 0xff} // Okabe–Ito yellow, the hue no model takes
)

// RenderScenario draws a scenario's charts into dir and returns the files
// written: its timeline, or for the state scenario its counters, sessions
// and counter costs. env and start name the machine and the day in the
// subtitles.
func RenderScenario(r *results.Scenario, env results.Env, start time.Time, dir string) ([]string, error) {
	sub := fmt.Sprintf("%s · %d CPUs · %s", env.CPUModel, env.CPUs, start.Format("2006-01-02"))
	if r.Interrupted != nil {
		sub += " · " + interruptedMark(*r.Interrupted) // on every chart
	}
	if r.State != nil {
		return stateCharts(r.State, dir, sub)
	}
	if r.Block != nil {
		return blockChart(r, dir, sub)
	}
	if r.Sizing != nil {
		return sizingCharts(r, dir, sub)
	}
	if r.Load == nil {
		return nil, fmt.Errorf("scenario %s: no load was measured", r.Scenario)
	}
	var marks []mark
	for _, a := range r.Actions {
		marks = append(marks, mark{At: a.At, Label: a.Label})
	}
	note := fmt.Sprintf("sent %d, failed %d", r.Sent, r.Failed)
	if r.RestartMs > 0 {
		note += fmt.Sprintf("; restart took %s", numfmt.Millis(r.RestartMs))
		if r.ServedBefore > 0 {
			note += fmt.Sprintf(", serving %.0f req/s against %.0f before", r.ServedDuring, r.ServedBefore)
		}
	}
	switch {
	case r.Interrupted != nil && len(r.Actions) == 0 && r.Scenario != "crashloop":
		note += "; interrupted before the action: nothing was done to the server"
	case r.Recovered >= 0:
		note += fmt.Sprintf("; back to full throughput without errors %.1f s after the action", r.Recovered)
	}
	return writeTimeline(dir, "timeline", timelineChart{
		Title:    scenarioTitle(r),
		Subtitle: fmt.Sprintf("%s\n%s on %s", sub, loadDesc(r), r.Path),
		Note:     note, Model: r.Model, Rate: r.Rate, Interval: 0.1, End: r.Load.DurationS, Series: r.Load.TimeSeries, Marks: marks,
	})
}

// scenarioTitle names a scenario's chart: what, on which model, and for
// a reload of a model whose workers own their sockets, whether the new
// workers took the old ones over: the two reload charts of the workshop
// differ only there, and the title is what a reader compares.
func scenarioTitle(r *results.Scenario) string {
	t := fmt.Sprintf("%s · %s, %s", r.Scenario, r.Model, plural(r.Workers, "worker"))
	if r.Scenario == "reload" && r.Model == variant.PreforkReusePort.Name {
		if r.NoHandover {
			t += ", no socket handover"
		} else {
			t += ", sockets handed over"
		}
	}
	return t
}

// setupColor is the colour of a state setup: the model's where the state
// lives in its workers, the master's or the store's otherwise.
func setupColor(setup string) color.Color {
	switch setup {
	case results.CounterPerProcess, results.SessionsInWorkers:
		return modelColor(variant.PreforkRR.Name)
	case results.SessionsSticky:
		return modelColor(variant.PreforkSticky.Name)
	case results.CounterInMaster:
		return masterColor
	case results.CounterInStore, results.SessionsInStore:
		return storeColor
	}
	return chart.Gray
}

func stateCharts(st *results.StateResult, dir, sub string) ([]string, error) {
	var files []string
	var labels []string
	var values []float64
	var colors []color.Color
	for _, w := range st.PerProcess {
		labels = append(labels, fmt.Sprintf("worker %d", w.Slot))
		values = append(values, float64(w.Count))
		colors = append(colors, setupColor(results.CounterPerProcess))
	}
	// Short labels: six bars share the width (see wrapLabels).
	labels = append(labels, "in the master")
	values = append(values, float64(st.Shared))
	colors = append(colors, setupColor(results.CounterInMaster))
	if st.Store >= 0 {
		labels = append(labels, "in Redis")
		values = append(values, float64(st.Store))
		colors = append(colors, setupColor(results.CounterInStore))
	}
	f, err := writeBars(dir, "counters", barChart{
		Title: "What each counter counted", Subtitle: sub + fmt.Sprintf("\n%d requests to each, rr over %d workers", st.Requests, len(st.PerProcess)),
		YLabel: "count", Labels: labels, Values: values, Colors: colors, Ref: float64(st.Requests), RefLabel: "requests sent",
		Format: func(v float64) string { return numfmt.Count(int64(math.Round(v))) },
		Note:   "/counter is a per-process variable: each worker counts only its own share; /counter/shared, in the master or in Redis, counts every request",
	})
	if err != nil {
		return nil, err
	}
	files = append(files, f...)
	labels, values, colors = nil, nil, nil
	for _, s := range st.Sessions {
		labels = append(labels, s.Setup)
		values = append(values, 100*float64(s.Found)/float64(max(s.Lookups, 1)))
		colors = append(colors, setupColor(s.Setup))
	}
	f, err = writeBars(dir, "sessions", barChart{
		Title: "Sessions found after logging in", Subtitle: sub + "\neach user asks who they are on new connections",
		YLabel: "% of lookups", Labels: labels, Values: values, Colors: colors,
		Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }, Ref: 100,
	})
	if err != nil {
		return nil, err
	}
	files = append(files, f...)
	labels, values, colors = nil, nil, nil
	for _, c := range st.Costs {
		labels = append(labels, c.Setup)
		values = append(values, c.RPS)
		colors = append(colors, setupColor(c.Setup))
	}
	f, err = writeBars(dir, "counter-cost", barChart{
		Title: "What keeping a counter costs", Subtitle: sub + "\nreq/s of a closed loop, 16 connections",
		YLabel: "req/s", Labels: labels, Values: values, Colors: colors,
	})
	return append(files, f...), err
}

// ScenarioText writes what a scenario measured, as `bench scenario`
// prints it: the load and its latency, each action, what failed and how
// soon throughput recovered; for the state scenario, its tables.
func ScenarioText(out io.Writer, r *results.Scenario) error {
	w := &errWriter{w: out}
	fmt.Fprintf(w, "%s · %s · %s", r.Scenario, r.Model, plural(r.Workers, "worker"))
	if r.Block != nil {
		fmt.Fprintln(w)
		interruptedText(w, r)
		blockText(w, r.Block)
	} else if r.Sizing != nil {
		fmt.Fprintln(w)
		interruptedText(w, r)
		sizingText(w, r.Sizing)
	} else if r.State != nil {
		fmt.Fprintln(w)
		interruptedText(w, r)
		stateText(w, r.State)
	} else if r.Load != nil {
		ka := ""
		if !r.KeepAlive {
			ka = ", a new connection per request"
		}
		load := fmt.Sprintf("%.0f req/s", r.Rate)
		if r.Rate == 0 {
			load = fmt.Sprintf("closed loop of %d connections", r.Connections)
		}
		span := fmt.Sprintf("%.0f s", r.Load.DurationS)
		if in := r.Interrupted; in != nil && in.OfS > 0 {
			span = fmt.Sprintf("%.1f s of %s s", r.Load.DurationS, strconv.FormatFloat(in.OfS, 'f', -1, 64))
		}
		fmt.Fprintf(w, " · %s on %s for %s%s\n", load, r.Path, span, ka)
		interruptedText(w, r)
		acted := r.Interrupted == nil || len(r.Actions) > 0 || r.Scenario == "crashloop"
		l := r.Load.Latency
		fmt.Fprintf(w, "latency p50 %s  p99 %s  p99.9 %s  max %s\n", numfmt.Millis(l.P50), numfmt.Millis(l.P99), numfmt.Millis(l.P999), numfmt.Millis(l.Max))
		for _, a := range r.Actions {
			fmt.Fprintf(w, "  at %5.2fs  %s (done at %.2fs)\n", a.At, a.Label, a.Done)
		}
		pct := 100 * float64(r.Failed) / float64(max(r.Sent, 1))
		fmt.Fprintf(w, "sent %d, failed %d (%.2f%%)%s\n", r.Sent, r.Failed, pct, kinds(r.ErrorKinds))
		if r.Scenario == "crash" && isPrefork(r.Model) && acted {
			fmt.Fprintf(w, "the killed worker had %d requests in flight on %d open connections\n", r.InFlight, r.Conns)
		}
		crashText(w, r)
		switch {
		case !acted:
			fmt.Fprintln(w, "interrupted before the action: nothing was done to the server")
		case r.Recovered < 0 && r.Interrupted != nil:
			fmt.Fprintln(w, "throughput was not back to what it was before the action when the scenario was interrupted")
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
	} else {
		fmt.Fprintln(w)
		interruptedText(w, r)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return w.err
}

// interruptedMark is how a scenario stopped early is marked, in its
// summary and on its charts: "INTERRUPTED after 1.3 s of 6 s".
func interruptedMark(in results.Interruption) string {
	return "INTERRUPTED" + strings.TrimPrefix(in.String(), "interrupted")
}

// interruptedText writes, for a scenario stopped early, the line that
// says so, before any of its figures.
func interruptedText(w io.Writer, r *results.Scenario) {
	if r.Interrupted != nil {
		fmt.Fprintf(w, "%s: the figures are of that time only\n", interruptedMark(*r.Interrupted))
	}
}

func stateText(w io.Writer, st *results.StateResult) {
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
		fmt.Fprintf(tw, "%s (%s)\t%.0f\t%s\n", c.Setup, c.Path, c.RPS, numfmt.Millis(c.P99))
	}
	tw.Flush()
}

// crashText writes what a crash cost in time and capacity, and what the
// master did to its slots in a crash loop.
func crashText(w io.Writer, r *results.Scenario) {
	if r.Capacity > 0 {
		fmt.Fprintf(w, "capacity measured first: %.0f req/s; the load offered %.0f%% of it\n", r.Capacity, 100*r.Share)
	}
	if r.RestartMs > 0 {
		fmt.Fprintf(w, "restart: %s from the kill until a replacement served\n", numfmt.Millis(r.RestartMs))
	}
	if r.ServedBefore > 0 {
		fmt.Fprintf(w, "served %.0f req/s before the crash, %.0f while it restarted: %.0f%% of the capacity in use was lost for that time\n",
			r.ServedBefore, r.ServedDuring, 100*(1-r.ServedDuring/r.ServedBefore))
	}
	if len(r.Events) == 0 {
		return
	}
	type slotLog struct {
		crashes int
		uptime  float64
		delays  []string
		errored float64
		gaveUp  bool
	}
	logs := map[int]*slotLog{}
	for _, e := range r.Events {
		l := logs[e.Slot]
		if l == nil {
			l = &slotLog{}
			logs[e.Slot] = l
		}
		switch e.Kind {
		case "crashed":
			l.crashes++
			l.uptime += e.UptimeMs
		case "restarting":
			l.delays = append(l.delays, numfmt.Millis(e.DelayMs))
		case "errored":
			l.errored, l.gaveUp = e.At, true
		}
	}
	all := true
	last := 0.0
	for _, slot := range slices.Sorted(maps.Keys(logs)) {
		l := logs[slot]
		fmt.Fprintf(w, "slot %d: crashed %d times, up %s each on average", slot, l.crashes, numfmt.Millis(l.uptime/float64(max(l.crashes, 1))))
		if len(l.delays) > 0 {
			fmt.Fprintf(w, "; restarted after %s", strings.Join(l.delays, ", "))
		}
		if l.gaveUp {
			fmt.Fprintf(w, "; errored at %.2f s", l.errored)
			last = max(last, l.errored)
		} else {
			all = false
		}
		fmt.Fprintln(w)
	}
	if all && len(logs) == r.Workers {
		fmt.Fprintf(w, "every slot errored: from %.2f s the master had no worker to serve with\n", last)
	}
}

// kinds lists error kinds by name with their counts: ": closed 2, reset 5".
func kinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return ": " + strings.Join(parts, ", ")
}

// loadDesc describes a scenario's load in a few words.
func loadDesc(r *results.Scenario) string {
	d := fmt.Sprintf("%.0f req/s open loop", r.Rate)
	if r.Rate == 0 {
		d = fmt.Sprintf("closed loop of %d connections", r.Connections)
	}
	if !r.KeepAlive {
		d += ", a new connection per request"
	}
	return d
}

// isPrefork reports whether the variant called name is a prefork one.
func isPrefork(name string) bool {
	v, ok := variant.Lookup(name)
	return ok && v.Prefork()
}
