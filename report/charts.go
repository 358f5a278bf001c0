package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/doc"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// charts returns the charts of one workload, in the order the report
// shows them; a chart whose data the run lacks is left out.
func (v view) charts(s *section) map[string]*figure {
	out := map[string]*figure{}
	add := func(c *figure) {
		if c != nil {
			out[c.name] = c
		}
	}
	add(v.rpsChart(s))
	add(v.spectrumChart(s))
	add(v.cpuChart(s))
	add(v.fairnessChart(s))
	if s.conns != nil {
		add(v.scalingChart(s, s.conns))
	}
	add(v.loadChart(s))
	if s.workers != nil {
		add(v.scalingChart(s, s.workers))
	}
	add(v.costChart(s))
	return out
}

// Chart names, by workload; they name files, so the workload is reduced
// to letters, digits and dashes.
func rpsName(w string) string      { return "rps-" + doc.Anchor(w) }
func spectrumName(w string) string { return "latency-" + doc.Anchor(w) }
func cpuName(w string) string      { return "cpu-" + doc.Anchor(w) }
func fairnessName(w string) string { return "fairness-" + doc.Anchor(w) }
func scalingName(sweep results.Sweep, w string) string {
	return "scaling-" + string(sweep) + "-" + doc.Anchor(w)
}
func loadName(w string) string { return "latency-vs-load-" + doc.Anchor(w) }
func costName(w string) string { return "cost-" + doc.Anchor(w) }

func measuredOnly(cases []*results.Case) []*results.Case {
	var out []*results.Case
	for _, c := range cases {
		if measured(c) {
			out = append(out, c)
		}
	}
	return out
}

// flaggedOf returns the flagged cases among cases.
func flaggedOf(cases []*results.Case) []*results.Case {
	var out []*results.Case
	for _, c := range cases {
		if flagOf(c).any() {
			out = append(out, c)
		}
	}
	return out
}

// flagsOf says which of cases are flagged, index by index.
func flagsOf(cases []*results.Case) []bool {
	out := make([]bool, len(cases))
	for i, c := range cases {
		out[i] = flagOf(c).any()
	}
	return out
}

// flaggedLabel adds to a legend or axis label why the case is flagged.
func flaggedLabel(label string, c *results.Case) string {
	if w := flagOf(c).words(); w != "" {
		return label + " (" + w + ")"
	}
	return label
}

// caseLabel names a case on a category axis: its model, with the worker
// count when the same model appears twice.
func caseLabels(cases []*results.Case) []string {
	n := map[string]int{}
	for _, c := range cases {
		n[c.Model]++
	}
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.Model
		if n[c.Model] > 1 {
			out[i] = fmt.Sprintf("%s w%d c%d", c.Model, c.Workers, c.Connections)
		}
	}
	return out
}

// barPlot draws one bar per case, coloured by model, at the spread's
// median with min–max whiskers and the median written above.
func barPlot(cases []*results.Case, ylabel string, val func(*results.Case) results.Spread, format func(float64) string) *plot.Plot {
	p := chart.NewPlot("", ylabel, false)
	top := 0.0
	for i, c := range cases {
		sp := val(c)
		bar, _ := plotter.NewBarChart(plotter.Values{sp.Median}, vg.Inch)
		bar.XMin = float64(i)
		bar.Color = modelColor(c.Model)
		bar.LineStyle.Color = modelColor(c.Model)
		if flagOf(c).any() { // hollow: the figure is not the server's
			bar.Color = color.White
			bar.LineStyle.Width = vg.Points(4)
		}
		p.Add(chart.AutoBars{BarChart: bar, Share: 0.55, Group: 1})
		if sp.N > 1 && sp.Max > sp.Min {
			e, _ := plotter.NewYErrorBars(spreadErr(float64(i), sp))
			e.LineStyle = draw.LineStyle{Color: chart.Black, Width: vg.Points(3)}
			e.CapWidth = vg.Points(28)
			p.Add(e)
		}
		st := chart.TextStyle(chart.TickSize+2, true, chart.Black)
		st.XAlign, st.YAlign = draw.XCenter, draw.YBottom
		p.Add(chart.Label{X: float64(i), Y: sp.Max, DY: vg.Points(8), Text: format(sp.Median), Style: st})
		top = math.Max(top, sp.Max)
	}
	labels := caseLabels(cases)
	for i, c := range cases {
		if w := flagOf(c).words(); w != "" {
			labels[i] += "\n" + w
		}
	}
	p.NominalX(labels...)
	p.Y.Padding = vg.Points(4) // NominalX pads for a first label centred on the axis; the categories have room
	p.X.Min, p.X.Max = -0.5, float64(len(cases))-0.5
	p.Y.Min, p.Y.Max = 0, chart.NiceMax(top*1.12)
	return p
}

// spreadErr is a spread as a point at x with whiskers from its min to its
// max.
func spreadErr(x float64, s results.Spread) chart.ErrPoint {
	return chart.ErrPoint{X: x, Y: s.Median, Lo: s.Median - s.Min, Hi: s.Max - s.Median}
}

func repeatsNote(cases []*results.Case, val func(*results.Case) results.Spread) string {
	lo, hi := math.MaxInt, 0
	for _, c := range cases {
		n := val(c).N
		lo, hi = min(lo, n), max(hi, n)
	}
	n := strconv.Itoa(hi)
	if lo != hi {
		n = fmt.Sprintf("%d–%d", lo, hi)
	}
	return "bars: median of " + n + " repeats; whiskers: min–max"
}

// 1. Requests per second by model.
func (v view) rpsChart(s *section) *figure {
	return v.modelBars(s, rpsName(s.workload), "Requests per second by model", "Requests per second by model",
		"requests per second", "(higher is better)", numfmt.SI,
		func(c *results.Case) results.Spread { return c.Summary.RPS })
}

// 6. Server CPU per request by model.
func (v view) cpuChart(s *section) *figure {
	return v.modelBars(s, cpuName(s.workload), "Server CPU time per request by model", "Server CPU per request",
		"server CPU µs per request", "(lower is better; master and workers counted)", numfmt.Sig,
		func(c *results.Case) results.Spread { return c.Summary.ServerCPUPerReq })
}

// modelBars is a bar per model of one figure, over the measured cases
// that have it; nil when none has.
func (v view) modelBars(s *section, name, alt, title, ylabel, note string, format func(float64) string, val func(*results.Case) results.Spread) *figure {
	var cases []*results.Case
	for _, c := range measuredOnly(s.models) {
		if val(c).N > 0 {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil
	}
	flagged := flaggedOf(cases)
	if len(flagged) > 0 {
		note += "; hollow: flagged"
	}
	return &figure{
		name: name,
		alt:  fmt.Sprintf("%s, workload %s", alt, s.workload),
		fig: &chart.Fig{
			Title:    fmt.Sprintf("%s · %s", title, s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{barPlot(cases, ylabel, val, format)},
			Note:     repeatsNote(cases, val) + " " + note,
		},
		flagged: flagged,
		cases:   cases,
	}
}

// 2. Latency percentile spectrum per model, from the merged histograms.
func (v view) spectrumChart(s *section) *figure {
	var cases []*results.Case
	for _, c := range measuredOnly(s.models) {
		if h := c.Summary.Histogram; h != nil && h.Count() > 1 {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil
	}
	leg := chart.NewLegend()
	lo, hi := math.Inf(1), 0.0
	labels := caseLabels(cases)
	var drawn []plot.Plotter
	for i, c := range cases {
		sp, _ := spectrumOf(c.Summary.Histogram)
		lo, hi = math.Min(lo, sp.lo), math.Max(hi, sp.hi)
		flagged := flagOf(c).any()
		l, _ := modelLine(c.Model, sp.line, flagged, chart.LineWidth)
		_, m := modelLine(c.Model, sp.marks, false, chart.LineWidth)
		if h := hollowMarks(c.Model, sp.marks, slices.Repeat([]bool{flagged}, len(sp.marks))); h != nil {
			m = h
		}
		drawn = append(drawn, l, m)
		leg.Add(flaggedLabel(labels[i], c), l, m)
	}
	flagged := flaggedOf(cases)
	addFlagKey(leg, flagged)
	p := chart.SpectrumPlot(lo, hi)
	p.Add(drawn...)
	return &figure{
		name: spectrumName(s.workload),
		alt:  fmt.Sprintf("Latency percentile spectrum per model, workload %s", s.workload),
		fig: &chart.Fig{
			Title:    fmt.Sprintf("Latency by percentile · %s", s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{p},
			Legend:   leg,
			Note:     "from the histograms of every repeat merged; each step right is ten times rarer (lower is better)",
		},
		flagged: flagged,
		cases:   cases,
	}
}

// 4. Per-worker share of requests by scheduling policy: a bar for every
// worker the server runs, idle ones at 0% and labelled, and Jain's index
// in the legend, both from the same merged counts.
func (v view) fairnessChart(s *section) *figure {
	var cases []*results.Case
	for _, c := range measuredOnly(s.models) {
		if showsFairness(c) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil
	}
	shares := make([]workerShares, len(cases))
	var slots []int
	workers := -1 // the worker count every case shares, else 0
	for i, c := range cases {
		shares[i] = workerSharesOf(c.Summary)
		for _, sl := range shares[i].slots {
			if !slices.Contains(slots, sl) {
				slots = append(slots, sl)
			}
		}
		if workers == -1 || workers == shares[i].workers {
			workers = shares[i].workers
		} else {
			workers = 0
		}
	}
	slices.Sort(slots)
	p := chart.NewPlot("worker slot", "share of requests (%)", false)
	leg := chart.NewLegend()
	top := 0.0
	labels := caseLabels(cases)
	for j, c := range cases {
		ws := shares[j]
		// A slot the case does not draw (count unknown, it did not
		// answer) stays empty: not measured, not shown as idle.
		vals := make(plotter.Values, len(slots))
		var idle []int
		for i, sl := range slots {
			if k := slices.Index(ws.slots, sl); k >= 0 {
				vals[i] = ws.shares[k]
				if vals[i] == 0 {
					idle = append(idle, i)
				}
			}
			top = math.Max(top, vals[i])
		}
		bar, _ := plotter.NewBarChart(vals, vg.Inch)
		bar.Color = modelColor(c.Model)
		bar.LineStyle.Color = modelColor(c.Model)
		if flagOf(c).any() {
			bar.Color = color.White
			bar.LineStyle.Width = vg.Points(3)
		}
		p.Add(chart.AutoBars{BarChart: bar, Share: 0.8, Group: len(cases), Index: j, Idle: idle})
		text := fmt.Sprintf("%s  Jain %.3f", labels[j], ws.jain)
		switch {
		case ws.workers == 0:
			text += " · count unknown"
		case ws.answered < ws.workers:
			text += fmt.Sprintf(" · %d of %d answered", ws.answered, ws.workers)
		}
		leg.Add(flaggedLabel(text, c), bar)
	}
	names := make([]string, len(slots))
	for i, sl := range slots {
		names[i] = strconv.Itoa(sl)
	}
	p.NominalX(names...)
	p.Y.Padding = vg.Points(4)
	p.X.Min, p.X.Max = -0.5, float64(len(slots))-0.5
	if workers > 0 {
		fair := chart.HLine{Y: 100 / float64(workers), Style: chart.Dashed(chart.Black, 2.5)}
		p.Add(fair)
		leg.Add("equal share", fair)
	}
	flagged := flaggedOf(cases)
	if len(flagged) > 0 {
		leg.Add("hollow: flagged", chart.StyleThumb{LineStyle: draw.LineStyle{Color: chart.Black, Width: vg.Points(3)}})
	}
	p.Y.Min, p.Y.Max = 0, chart.NiceMax(top*1.1)
	note := "Jain's fairness index over every worker the server runs, an idle one counting 0: 1 = all served the same, 1/N = one served everything"
	if workers == 0 {
		note = "Jain's fairness index over the workers the server runs (idle ones count 0), or over those that answered where it did not say how many"
	}
	return &figure{
		name: fairnessName(s.workload),
		alt:  fmt.Sprintf("Share of requests per worker by scheduling policy, workload %s", s.workload),
		fig: &chart.Fig{
			Title:    fmt.Sprintf("Requests per worker by scheduling policy · %s", s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{p},
			Legend:   leg,
			Note:     note,
		},
		flagged: flagged,
		cases:   cases,
	}
}

// 3. Scaling: req/s against connections or workers; for workers, the USL
// and the linear line from its λ for every model whose fit is good.
func (v view) scalingChart(s *section, sc *scaling) *figure {
	if len(sc.series) == 0 {
		return nil
	}
	xlabel, axis := "connections", "connections"
	if sc.sweep == results.SweepWorkers {
		xlabel, axis = "workers (processes; GOMAXPROCS for goroutines)", "workers"
	}
	xmin, xmax, top := math.Inf(1), 0.0, 0.0
	var cases []*results.Case
	var xs []float64
	for _, sr := range sc.series {
		for i, c := range sr.cases {
			x := sr.xs[i]
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			top = math.Max(top, c.Summary.RPS.Max)
			if !slices.Contains(xs, x) {
				xs = append(xs, x)
			}
			cases = append(cases, c)
		}
	}
	// Connections double from sweep step to step: a log axis spaces them
	// evenly. tx maps N to the axis (see setLogY for why not LogScale).
	logX := sc.sweep == results.SweepConnections && xmax/xmin >= 8
	tx := func(x float64) float64 { return x }
	if logX {
		tx = math.Log10
		xlabel += " (log scale)"
	}
	p := chart.NewPlot(xlabel, "requests per second", true)
	leg := chart.NewLegend()
	drawn := 0 // USL curves drawn
	var ticks plot.ConstantTicks
	for _, x := range xs {
		ticks = append(ticks, plot.Tick{Value: tx(x), Label: strconv.FormatFloat(x, 'f', -1, 64)})
	}
	for _, sr := range sc.series {
		xys := make(plotter.XYs, len(sr.cases))
		for i, c := range sr.cases {
			xys[i] = plotter.XY{X: tx(sr.xs[i]), Y: c.Summary.RPS.Median}
			if sp := c.Summary.RPS; sp.N > 1 && sp.Max > sp.Min {
				e, _ := plotter.NewYErrorBars(spreadErr(tx(sr.xs[i]), sp))
				e.LineStyle = draw.LineStyle{Color: modelColor(sr.model), Width: vg.Points(2)}
				e.CapWidth = vg.Points(12)
				p.Add(e)
			}
		}
		_, marks := modelLine(sr.model, xys, false, chart.LineWidth)
		hollow := hollowMarks(sr.model, xys, flagsOf(sr.cases))
		f, fitted := sc.fits[sr.model]
		switch {
		case len(sr.xs) == 1: // a reference point, such as singlecore's one worker
			p.Add(marks)
			leg.Add(sr.model, marks)
		case !fitted || f.err != nil:
			// No law drawn: the points joined, and the legend says so
			// where a fit was tried.
			l, _ := modelLine(sr.model, xys, false, 2)
			p.Add(l, marks)
			leg.Add(sr.model, l, marks)
			if fitted {
				leg.Add("  " + f.legend())
			}
		default:
			// The law is drawn over the points it was fitted to, up to
			// the CPUs; past them the measured points are joined.
			hi := fitTo(xmax, sc)
			curve, ideal := plotter.XYs{}, plotter.XYs{}
			for i := 0; i <= 200; i++ {
				t := float64(i) / 200
				x := xmin + (hi-xmin)*t
				if logX {
					x = xmin * math.Pow(hi/xmin, t)
				}
				curve = append(curve, plotter.XY{X: tx(x), Y: f.usl.At(x)})
				ideal = append(ideal, plotter.XY{X: tx(x), Y: f.usl.Lambda * x})
			}
			l, _ := modelLine(sr.model, curve, false, chart.LineWidth)
			il, _ := modelLine(sr.model, ideal, true, 1.8)
			p.Add(il, l, marks)
			var past plotter.XYs
			for i, xy := range xys {
				if sr.xs[i] >= hi && hi < xmax {
					past = append(past, xy)
				}
			}
			if len(past) > 1 {
				pl, _ := modelLine(sr.model, past, false, 2)
				p.Add(pl)
			}
			leg.Add(sr.model, l, marks)
			leg.Add("  " + f.legend())
			drawn++
		}
		if hollow != nil {
			p.Add(hollow)
		}
	}
	// Past the server CPUs the workers take turns: a line marks where.
	over := sc.oversubscribed()
	if len(over) > 0 {
		cpus := float64(sc.cpus)
		l, _ := plotter.NewLine(plotter.XYs{{X: tx(cpus), Y: 0}, {X: tx(cpus), Y: chart.NiceMax(top * 1.1)}})
		l.LineStyle = chart.Dotted(chart.Gray, 1.5)
		p.Add(l)
		leg.Add(fmt.Sprintf("%d server CPUs: more workers take turns", sc.cpus), chart.StyleThumb{LineStyle: chart.Dotted(chart.Gray, 1.5)})
	}
	// Keys only for what is drawn.
	note := "Dots: median, whiskers: min–max over repeats, joined per model."
	if drawn > 0 {
		leg.Add("USL fit", chart.StyleThumb{LineStyle: draw.LineStyle{Color: chart.Black, Width: vg.Points(chart.LineWidth)}})
		leg.Add("linear: λ·N", chart.StyleThumb{LineStyle: chart.Dashed(chart.Black, 1.8)})
		if len(over) > 0 {
			leg.Add("  both fitted and drawn up to the CPUs")
		}
		note = fmt.Sprintf("USL: X(N) = λN / (1 + σ(N−1) + κN(N−1)), drawn where it fits (%d+ worker counts, R² ≥ %g). Dots: median, whiskers: min–max over repeats.", uslMinCounts, uslMinR2)
	} else if sc.sweep == results.SweepConnections {
		note += " No USL: connections are offered load, not parallel workers."
	}
	flagged := flaggedOf(cases)
	addFlagKey(leg, flagged)
	p.X.Tick.Marker = ticks
	if logX {
		p.X.Min, p.X.Max = tx(xmin/1.3), tx(xmax*1.3)
	} else {
		p.X.Min, p.X.Max = math.Max(0, xmin-0.5), xmax+0.5
	}
	p.Y.Min, p.Y.Max = 0, chart.NiceMax(top*1.1)
	alt := fmt.Sprintf("Requests per second against %s per model, workload %s", axis, s.workload)
	if drawn > 0 {
		alt = fmt.Sprintf("Requests per second against %s with the Universal Scalability Law where it fits, workload %s", axis, s.workload)
	}
	return &figure{
		name: scalingName(sc.sweep, s.workload),
		alt:  alt,
		fig: &chart.Fig{
			Title:    fmt.Sprintf("Scaling with %s · %s", axis, s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{p},
			Legend:   leg,
			Note:     note,
		},
		flagged: flagged,
		cases:   cases,
	}
}

// linearTo is the N of linear scaling at x workers: x, but no more than
// the server CPUs, which oversubscribed workers share.
func linearTo(x float64, sc *scaling) float64 {
	if sc.cpus > 0 && sc.sweep == results.SweepWorkers {
		return math.Min(x, float64(sc.cpus))
	}
	return x
}

// fitTo is how far along the axis the USL of a sweep reaching xmax was
// fitted, and so is drawn: to the server CPUs at most.
func fitTo(xmax float64, sc *scaling) float64 { return linearTo(xmax, sc) }

// 5. Latency against offered load, from the open-loop sweep.
func (v view) loadChart(s *section) *figure {
	if len(s.rateSeries) == 0 {
		return nil
	}
	p := chart.NewPlot("offered load (requests per second)", "latency (log scale)", true)
	leg := chart.NewLegend()
	lo, hi, xmax := math.Inf(1), 0.0, 0.0
	var cases []*results.Case
	for _, sr := range s.rateSeries {
		var p50, p99 plotter.XYs
		for i, c := range sr.cases {
			x := sr.xs[i]
			v50, v99 := math.Max(c.Summary.P50.Median, 1e-3), math.Max(c.Summary.P99.Median, 1e-3)
			p50 = append(p50, plotter.XY{X: x, Y: math.Log10(v50)})
			p99 = append(p99, plotter.XY{X: x, Y: math.Log10(v99)})
			lo, hi = math.Min(lo, v50), math.Max(hi, v99)
			xmax = math.Max(xmax, x)
			cases = append(cases, c)
		}
		l50, _ := modelLine(sr.model, p50, true, 2.2)
		l99, m99 := modelLine(sr.model, p99, false, chart.LineWidth)
		p.Add(l50, l99, m99)
		if h := hollowMarks(sr.model, p99, flagsOf(sr.cases)); h != nil {
			p.Add(h)
		}
		k := s.knees[sr.model]
		text := "never kept up"
		switch {
		case k.sustained > 0 && k.failedAt == 0:
			text = fmt.Sprintf("kept up to %s/s, the most offered", numfmt.SI(k.sustained))
		case k.sustained > 0:
			text = fmt.Sprintf("knee %s–%s/s", numfmt.SI(k.sustained), numfmt.SI(k.failedAt))
			ring := draw.GlyphStyle{Color: modelColor(sr.model), Radius: vg.Points(16), Shape: chart.RingGlyph{Width: 3}}
			sc, _ := plotter.NewScatter(plotter.XYs{{X: k.sustained, Y: math.Log10(math.Max(k.p99, 1e-3))}})
			sc.GlyphStyle = ring
			p.Add(sc)
		}
		leg.Add(sr.model+"  "+text, l99, m99)
	}
	leg.Add("p99", chart.StyleThumb{LineStyle: draw.LineStyle{Color: chart.Black, Width: vg.Points(chart.LineWidth)}})
	leg.Add("p50", chart.StyleThumb{LineStyle: chart.Dashed(chart.Black, 2.2)})
	leg.Add("knee: last rate kept up with", chart.RingThumb{})
	flagged := flaggedOf(cases)
	addFlagKey(leg, flagged)
	p.X.Min, p.X.Max = 0, chart.NiceMax(xmax)
	p.X.Tick.Marker = chart.LabelTicks(numfmt.SI)
	chart.SetLogY(p, lo, hi)
	return &figure{
		name: loadName(s.workload),
		alt:  fmt.Sprintf("Latency against offered load (open loop) per model, workload %s", s.workload),
		fig: &chart.Fig{
			Title:    fmt.Sprintf("Latency against offered load · %s", s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{p},
			Legend:   leg,
			Note:     "open loop: requests leave on schedule, answered or not; kept up = 95% of the offered rate served, at most 1% errors",
		},
		flagged: flagged,
		cases:   cases,
	}
}

// 7. COST and parallel efficiency from the worker sweep.
func (v view) costChart(s *section) *figure {
	ct := s.cost
	if ct == nil {
		return nil
	}
	base := ct.baseline.Summary.RPS.Median
	left := chart.NewPlot("workers", "requests per second", true)
	right := chart.NewPlot("workers", "parallel efficiency", true)
	for _, p := range []*plot.Plot{left, right} {
		p.Title.TextStyle = chart.TextStyle(chart.LabelSize, true, chart.Black)
		p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
		p.Title.Padding = vg.Points(12)
	}
	left.Title.Text = "req/s against singlecore"
	right.Title.Text = "efficiency: X(N) / (N · singlecore)"
	note := "COST after McSherry, Isard, Murray: \"Scalability! But at what COST?\" (HotOS 2015). Efficiency 1 = N workers do N times singlecore's work."
	if len(ct.scaling.oversubscribed()) > 0 {
		note += fmt.Sprintf("\nPast the %d server CPUs, N is the CPUs: workers that take turns on them bring none.", ct.scaling.cpus)
	}
	leg := chart.NewLegend()
	bl := chart.HLine{Y: base, Style: chart.Dashed(modelColor(variant.SingleCore.Name), 3)}
	left.Add(bl)
	leg.Add(fmt.Sprintf("singlecore  %s req/s", numfmt.SI(base)), bl)
	right.Add(chart.HLine{Y: 1, Style: chart.Dotted(chart.Black, 2.5)})
	xmax, top, etop := 1.0, base, 1.0
	ticks := plot.ConstantTicks{{Value: 1, Label: "1"}}
	seen := map[float64]bool{1: true}
	cases := []*results.Case{ct.baseline}
	for _, sr := range ct.series {
		cost := ct.costs[sr.model]
		xys := plotter.XYs{}
		for i, c := range sr.cases {
			xys = append(xys, plotter.XY{X: sr.xs[i], Y: c.Summary.RPS.Median})
			top = math.Max(top, c.Summary.RPS.Median)
			xmax = math.Max(xmax, sr.xs[i])
			if !seen[sr.xs[i]] {
				seen[sr.xs[i]] = true
				ticks = append(ticks, plot.Tick{Value: sr.xs[i], Label: strconv.FormatFloat(sr.xs[i], 'f', -1, 64)})
			}
			cases = append(cases, c)
		}
		l, m := modelLine(sr.model, xys, false, chart.LineWidth)
		left.Add(l, m)
		// Efficiency at every measured N, flagged ones drawn hollow: COST
		// itself is from the unflagged ones only.
		exys := plotter.XYs{}
		var eflags []bool
		for i, c := range sr.cases {
			if e := sr.cases[i].Summary.RPS.Median / (ct.units(sr.xs[i]) * base); base > 0 && finite(e) {
				exys = append(exys, plotter.XY{X: sr.xs[i], Y: e})
				eflags = append(eflags, flagOf(c).any())
				etop = math.Max(etop, e)
			}
		}
		el, em := modelLine(sr.model, exys, false, chart.LineWidth)
		right.Add(el, em)
		if h := hollowMarks(sr.model, xys, flagsOf(sr.cases)); h != nil {
			left.Add(h)
		}
		if h := hollowMarks(sr.model, exys, eflags); h != nil {
			right.Add(h)
		}
		text := "never beats it"
		if cost.Beats() {
			text = fmt.Sprintf("COST %g", cost.Cores)
			ring, _ := plotter.NewScatter(plotter.XYs{{X: cost.Cores, Y: medianAt(sr, cost.Cores)}})
			ring.GlyphStyle = draw.GlyphStyle{Color: modelColor(sr.model), Radius: vg.Points(16), Shape: chart.RingGlyph{Width: 3}}
			left.Add(ring)
		}
		leg.Add(sr.model+"  "+text, l, m)
	}
	leg.Add("COST: fewest workers", chart.RingThumb{})
	leg.Add("  that beat singlecore")
	flagged := flaggedOf(cases)
	addFlagKey(leg, flagged)
	for _, p := range []*plot.Plot{left, right} {
		p.X.Min, p.X.Max = 0.5, xmax+0.5
		p.X.Tick.Marker = ticks
	}
	left.Y.Min, left.Y.Max = 0, chart.NiceMax(top*1.1)
	right.Y.Min, right.Y.Max = 0, chart.NiceMax(etop*1.1)
	right.Y.Tick.Marker = plot.DefaultTicks{}
	return &figure{
		name: costName(s.workload),
		alt:  fmt.Sprintf("COST: workers each model needs to beat singlecore, and parallel efficiency, workload %s", s.workload),
		fig: &chart.Fig{
			Title:    fmt.Sprintf("COST: cores needed to beat one core · %s", s.workloadName()),
			Subtitle: v.machine() + "\n" + loadOf(cases),
			Panels:   []*plot.Plot{left, right},
			Legend:   leg,
			Note:     note,
		},
		flagged: flagged,
		cases:   cases,
	}
}

func medianAt(sr series, x float64) float64 {
	for i, c := range sr.cases {
		if sr.xs[i] == x {
			return c.Summary.RPS.Median
		}
	}
	return 0
}
