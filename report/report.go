package report

import (
	"cmp"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/doc"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// The files a report consists of, inside its directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	BenchFile    = "bench.txt"
	ChartsDir    = "charts"
)

// Render writes the report of run into dir: report.md, report.html,
// bench.txt and charts/<name>.png and .svg for every chart the run has
// data for. It returns the paths of the files written, report.md first.
// Files from an earlier render that this one does not write are left
// alone.
func Render(run *results.Run, dir string) ([]string, error) {
	if run == nil {
		return nil, fmt.Errorf("report: no run")
	}
	v := view{run: run}
	d, charts := v.document()
	if err := os.MkdirAll(filepath.Join(dir, ChartsDir), 0o755); err != nil {
		return nil, err
	}
	var files []string
	write := func(name string, b []byte) error {
		p := filepath.Join(dir, name)
		if err := writeFile(p, b); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	svgs := map[string]string{} // by chart name
	var chartFiles [][2]string
	var chartData [][]byte
	for _, c := range charts {
		s, err := c.fig.SVG()
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.name, err)
		}
		p, err := c.fig.PNG()
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.name, err)
		}
		svgs[c.name] = doc.InlineSVG(s, c.alt)
		chartFiles = append(chartFiles, [2]string{c.name + ".png", c.name + ".svg"})
		chartData = append(chartData, p, s)
	}
	if err := write(MarkdownFile, []byte(d.Markdown())); err != nil {
		return nil, err
	}
	footer := fmt.Sprintf("Rendered from %s by <code>bench report</code>. Charts as PNG and SVG in <code>%s/</code>; <code>%s</code> holds the numbers for benchstat.",
		html.EscapeString(results.FileName), ChartsDir, BenchFile)
	page := d.HTML("corebench run "+run.ID, footer, func(name string) string { return svgs[name] })
	if err := write(HTMLFile, []byte(page)); err != nil {
		return nil, err
	}
	if err := write(BenchFile, []byte(benchText(run))); err != nil {
		return nil, err
	}
	for i, names := range chartFiles {
		for j, n := range names {
			if err := write(filepath.Join(ChartsDir, n), chartData[2*i+j]); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// writeFile writes b to p through a temporary file and a rename, so an
// interrupted render never leaves half a file.
func writeFile(p string, b []byte) error {
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// chartNames lists the charts Render draws for run, in report order, by
// their files' names without extension: charts/NAME.png and .svg.
func chartNames(run *results.Run) []string {
	_, charts := view{run: run}.document()
	out := make([]string, len(charts))
	for i, c := range charts {
		out[i] = c.name
	}
	return out
}

// sweepTitle names a sweep's subsection.
var sweepTitle = map[results.Sweep]string{
	results.SweepConnections: "Scaling with connections",
	results.SweepRate:        "Latency against offered load (open loop)",
	results.SweepWorkers:     "Scaling with workers",
	results.SweepKeepAlive:   "Without keep-alive",
}

// document builds the report and the charts it shows.
func (v view) document() (*doc.Doc, []*figure) {
	run := v.run
	d := &doc.Doc{FigureDir: ChartsDir}
	var charts []*figure
	show := func(c *figure, caption string) {
		if c != nil {
			d.Figure(c.name, c.alt, caption+flaggedCaption(c.flagged)+limitsCaption(c.cases))
			charts = append(charts, c)
		}
	}

	d.H(1, "corebench run %s", run.ID)
	if !run.Complete {
		switch {
		case len(run.Cases) == 0:
			d.P("banner", "**Incomplete run.** It stopped before any case finished: there is nothing to show.")
		case run.Planned > 0:
			d.P("banner", "**Incomplete run.** It stopped after %d of its %d cases (interrupted, killed, or its results could not be saved): this report shows those.", len(run.Cases), run.Planned)
		default: // written before the cases planned were recorded
			d.P("banner", "**Incomplete run.** It was interrupted before every case ran: this report shows the %d cases measured until then.", len(run.Cases))
		}
	}
	failed := 0
	for _, c := range run.Cases {
		if !measured(&c) {
			failed++
		}
	}
	summary := fmt.Sprintf("Profile **%s**, %d cases", orNone(run.Profile), len(run.Cases))
	if failed > 0 {
		summary += fmt.Sprintf(" (%d failed)", failed)
	}
	summary += fmt.Sprintf(", on %s (%d CPUs%s)", cpuModel(run.Env.CPUModel), run.Env.CPUs, placementShort(run.Placement))
	if !run.Started.IsZero() && !run.Finished.IsZero() {
		summary += fmt.Sprintf(", %s to %s UTC (%s)", run.Started.UTC().Format("2006-01-02 15:04"),
			run.Finished.UTC().Format("15:04"), run.Finished.Sub(run.Started).Round(1e9))
	}
	d.P("", "%s.", summary)
	// The results come first; the warnings, one line of them here, and the
	// environment come after them.
	warnings := v.warnings(failed)
	if len(warnings) > 0 {
		var shorts []string
		for _, w := range warnings {
			if !slices.Contains(shorts, w.short) {
				shorts = append(shorts, w.short)
			}
		}
		d.P("warn", "**%s:** %s. Read them in [Warnings](#warnings) before trusting a figure.", plural(len(warnings), "warning"), strings.Join(shorts, "; "))
	}

	v.verdictSection(d)
	for _, w := range v.workloads() {
		s := v.section(w)
		cs := v.charts(s)
		d.H(2, "Workload %s", s.workloadName())
		if len(s.models) > 0 {
			d.H(3, "%s: models side by side", w)
			show(cs[rpsName(w)], "Requests per second by model: bars are medians over repeats, whiskers min and max.")
			show(cs[spectrumName(w)], "Latency at every percentile, from the merged histograms: flat is good, a late climb is a tail.")
			d.Table(caseTable(s.models, results.SweepModels))
			flagNotes(d, s.models)
			limitNote(d, s.models)
			show(cs[cpuName(w)], "Server CPU time per request (master and workers): efficiency that holds even when the generator shares the cores.")
			show(cs[fairnessName(w)], "How each prefork scheduling policy spread requests over the workers, with Jain's fairness index.")
		}
		v.sweepSection(d, w, results.SweepConnections, s.conns != nil, func() {
			show(cs[scalingName(results.SweepConnections, w)], "Requests per second against connections: medians, whiskers min and max, joined per model. "+
				"No Universal Scalability Law here: it describes throughput against parallel workers or cores, while connections "+
				"are offered load, and past the server's capacity throughput flattens whatever the law's curve does.")
			d.Table(caseTable(s.conns.cases, results.SweepConnections))
			flagNotes(d, s.conns.cases)
			limitNote(d, s.conns.cases)
		})
		v.sweepSection(d, w, results.SweepRate, len(s.rate) > 0, func() {
			show(cs[loadName(w)], "p99 (solid) and p50 (dashed) latency against the offered rate; the ring marks the last rate each model kept up with.")
			d.Table(kneeTable(s))
			d.Table(caseTable(s.rate, results.SweepRate))
			flagNotes(d, s.rate)
			limitNote(d, s.rate)
		})
		v.sweepSection(d, w, results.SweepWorkers, s.workers != nil, func() {
			show(cs[scalingName(results.SweepWorkers, w)], fmt.Sprintf("Requests per second against workers: medians, whiskers min and max. "+
				"The Universal Scalability Law (solid) and linear scaling from its λ (dashed) are drawn for a model only where the fit is good: "+
				"%d or more worker counts, as it has 3 parameters, and R² of %g or more; the table says why a model has none.", uslMinCounts, uslMinR2))
			d.Table(uslTable(s.workers))
			if over := s.workers.oversubscribed(); len(over) > 0 {
				d.P("note", "Past the %d server CPUs (%s workers) the workers take turns on the cores and add no capacity, "+
					"so the law, whose N are workers that each bring a core, is fitted to the worker counts up to the CPUs (points counts those) and drawn that far. "+
					"A fitted peak within the CPUs is the model's own limit; one past them, that it still scaled where the cores ran out. "+
					"What taking turns costs is measured, not fitted: the last column compares req/s at the most workers with one worker per CPU, "+
					"and COST's efficiency past the CPUs is per CPU.",
					s.workers.cpus, joinFloats(over))
			}
			if s.cost != nil {
				d.H(4, "COST")
				show(cs[costName(w)], "COST: the fewest workers with which each model beats singlecore's one core, and parallel efficiency against singlecore.")
				d.Table(costTable(s.cost))
			} else {
				d.P("note", "COST needs singlecore measured under the same load; this run has no such case.")
			}
			d.Table(caseTable(s.workers.cases, results.SweepWorkers))
			flagNotes(d, s.workers.cases)
			limitNote(d, s.workers.cases)
		})
		v.sweepSection(d, w, results.SweepKeepAlive, len(s.keepAlive) > 0, func() {
			d.Table(caseTable(s.keepAlive, results.SweepKeepAlive))
			flagNotes(d, s.keepAlive)
			limitNote(d, s.keepAlive)
		})
	}

	d.H(2, "Warnings")
	if len(warnings) == 0 {
		d.P("", "None: every case ran, and the load generator kept ahead of every server.")
	}
	var items []string
	for _, w := range warnings {
		items = append(items, w.text)
	}
	d.List("warn", items)

	if failed > 0 {
		d.H(2, "Failed cases")
		var items []string
		for _, c := range run.Cases {
			if !measured(&c) {
				items = append(items, fmt.Sprintf("`%s`: %s", c.ID, caseError(&c)))
			}
		}
		d.List("", items)
	}

	d.H(2, "Environment")
	if dirtyBuild(run.Env) {
		d.P("warn", "%s", dirtyWarning)
	}
	d.Table(v.envTable())

	var missing []string
	for _, sw := range []results.Sweep{results.SweepConnections, results.SweepRate, results.SweepWorkers, results.SweepKeepAlive} {
		if !v.hasSweep(sw) {
			missing = append(missing, fmt.Sprintf("%s: not measured in this profile (%s); %s (`bench run --profile %s`).",
				sweepTitle[sw], orNone(run.Profile), sweepProfile[sw], profileFor[sw]))
		}
	}
	if len(missing) > 0 {
		d.H(2, "Not measured in this run")
		d.List("", missing)
	}
	return d, charts
}

// sweepSection writes a workload's subsection for a sweep: its content
// when the workload has it, a note when the run has the sweep but not for
// this workload, nothing when the run lacks the sweep altogether (the
// report says so once, at the end).
func (v view) sweepSection(d *doc.Doc, workload string, sweep results.Sweep, has bool, content func()) {
	switch {
	case has:
		d.H(3, "%s: %s", workload, strings.ToLower(sweepTitle[sweep][:1])+sweepTitle[sweep][1:])
		content()
	case v.hasSweep(sweep):
		d.P("note", "%s: not measured for workload %s in this run.", sweepTitle[sweep], workload)
	}
}

func orNone(s string) string {
	if s == "" {
		return "unnamed"
	}
	return s
}

// caseError says why a case has no numbers.
func caseError(c *results.Case) string {
	if c.Error != "" {
		return c.Error
	}
	for _, r := range c.Repeats {
		if r.Error != "" {
			return r.Error
		}
	}
	return "no repeat measured anything"
}

// warning is one thing a reader must know before trusting the numbers:
// its text, and a few words for the line at the top of the report.
type warning struct{ short, text string }

// warnings lists what a reader must know before trusting the numbers.
func (v view) warnings(failed int) []warning {
	run := v.run
	var out []warning
	add := func(short, text string) { out = append(out, warning{short, text}) }
	if w := virtualizationWarning(run.Env.Virtualization); w != "" {
		add("not performance figures (virtual machine)", w) // first: it holds for every figure
	}
	switch {
	case run.Complete:
	case len(run.Cases) == 0:
		add("nothing measured", "**Nothing was measured:** the run stopped before its first case finished.")
	case run.Planned > len(run.Cases):
		add("incomplete run", fmt.Sprintf("**Incomplete run:** %d of the %d cases planned were not measured; the comparisons lack them.", run.Planned-len(run.Cases), run.Planned))
	default:
		add("incomplete run", "**Incomplete run:** the cases after these were not measured; the comparisons lack them.")
	}
	if run.Placement.Shared {
		add("servers and generator share cores", "**Servers and the load generator share cores.** The generator takes CPU time the servers "+
			"would otherwise have, so absolute req/s are lower than on separate cores, and models that use every core "+
			"lose the most. Server CPU per request holds regardless. On 4 or more cores the generator gets cores of its own.")
	}
	saturated := 0
	for _, c := range run.Cases {
		if c.Summary != nil && c.Summary.Saturated {
			saturated++
		}
	}
	for _, c := range run.Cases {
		if c.Summary == nil || !c.Summary.Saturated {
			continue
		}
		why, allowed := "", 0
		for _, r := range c.Repeats {
			if r.Load.Saturated && why == "" {
				why = r.Load.SaturatedWhy
			}
			allowed = max(allowed, r.Load.CoresAllowed)
		}
		s := fmt.Sprintf("The load generator was saturated in `%s`", c.ID)
		switch {
		case why != "":
			s += ": " + why
		case allowed > 0:
			s += fmt.Sprintf(": it used %s of its %d cores", numfmt.Sig(c.Summary.LoadgenCores.Max), allowed)
		}
		add("load generator saturated in "+plural(saturated, "case"), s+". The server may be faster than this case says.")
	}
	runWide := assess.NoiseWarnings(run.Env.Noise, run.Env.CPUs, &results.Case{}) // the governor: every case has it
	for _, w := range runWide {
		add("machine noise on every case", "**Machine noise on every case:** "+w+". Pin it with `cpupower frequency-set -g performance` for figures that compare.")
	}
	var noisy []string
	for _, c := range run.Cases {
		if c.Summary == nil {
			continue
		}
		if ws := slices.DeleteFunc(slices.Clone(c.Summary.Noise), func(w string) bool { return slices.Contains(runWide, w) }); len(ws) > 0 {
			noisy = append(noisy, fmt.Sprintf("`%s` (%s)", c.ID, strings.Join(ws, "; ")))
		}
	}
	if len(noisy) > 0 {
		add("machine noise in "+plural(len(noisy), "case"), fmt.Sprintf("**Machine noise** (%s in the tables) in %s: %s. Their figures may be lower than the server's capacity on a quiet machine.",
			markNoise, plural(len(noisy), "case"), strings.Join(noisy, ", ")))
	}
	if dirtyBuild(run.Env) {
		add("not a clean build", dirtyWarning)
	}
	if failed > 0 {
		add(plural(failed, "case")+" failed", fmt.Sprintf("%s failed; see [Failed cases](#failed-cases).", plural(failed, "case")))
	}
	return out
}

// flagNotes explains the marks of flagged cases under a table that has
// them, and a fairness taken without the worker count.
func flagNotes(d *doc.Doc, cases []*results.Case) {
	for _, c := range cases {
		if showsFairness(c) && c.Summary.Workers == 0 {
			d.P("note", "Count unknown: the server did not say how many workers it runs, so fairness is over the workers "+
				"that answered, and a worker that served nothing goes unseen.")
			break
		}
	}
	for _, c := range cases {
		if measured(c) && (len(c.Summary.LowerBounds) > 0 || c.Summary.Unsent > 0) {
			d.P("note", "≥ marks a lower bound: requests that timed out, or were never sent for want of a free "+
				"connection within the timeout (unsent), count at the time they were given up; they would have taken longer.")
			break
		}
	}
	sat, failed, short, _ := flagCount(cases)
	if short > 0 {
		d.P("note", "%s too few connections: neither the server nor the generator was near its CPU, and latency was low, "+
			"so the load, not the server, set req/s. Drawn hollow in the charts, and left out of fits, COST and rankings.", markUnderloaded)
	}
	if sat > 0 {
		d.P("note", "%s the load generator was saturated: that server may have more to give. "+
			"Drawn hollow in the charts, and left out of fits, COST, knees and rankings.", markSaturated)
	}
	if failed > 0 {
		d.P("note", "%s more than %g%% of its requests failed: req/s counts successful responses only, so it is not "+
			"the server's capacity. Drawn hollow in the charts, and left out of fits, COST and rankings.", markFailed, 100*assess.FailedFlag)
	}
}

// limitNote says under a table what its "limited by" column means, for
// the limits it shows, and what the noise mark means if it has one.
func limitNote(d *doc.Doc, cases []*results.Case) {
	var shown []results.Limit
	noise := false
	for _, c := range cases {
		if !measured(c) {
			continue
		}
		if l := c.Summary.LimitedBy; l != "" && !slices.Contains(shown, l) {
			shown = append(shown, l)
		}
		noise = noise || len(c.Summary.Noise) > 0
	}
	if len(shown) == 0 {
		return
	}
	slices.SortFunc(shown, func(a, b results.Limit) int { return slices.Index(assess.Limits, a) - slices.Index(assess.Limits, b) })
	var parts []string
	for _, l := range shown {
		parts = append(parts, "*"+limitWord(l)+"*: "+limitMeaning[l])
	}
	d.P("note", "Limited by, from the CPU figures of each case: %s.", strings.Join(parts, "; "))
	if noise {
		d.P("note", "%s machine noise during the case (a governor other than performance, or other processes taking over %g of a CPU); see [Warnings](#warnings).",
			markNoise, assess.OtherCoresWarn)
	}
}

// limitWord is how tables and charts write a limit: "server cores".
func limitWord(l results.Limit) string {
	switch l {
	case results.LimitRate:
		return "offered rate"
	case results.LimitMaster:
		return "prefork master"
	case results.LimitServer:
		return "server cores"
	case results.LimitShared:
		return "shared cores"
	case results.LimitWait:
		return "request wait"
	case results.LimitConnections:
		return "too few connections"
	case "":
		return "–"
	}
	return string(l)
}

// limitMeaning says in a few words what each limit means for the figure.
var limitMeaning = map[results.Limit]string{
	results.LimitFailures:    fmt.Sprintf("over %g%% of requests failed", 100*assess.FailedFlag),
	results.LimitGenerator:   "the load generator saturated, the server may be faster",
	results.LimitRate:        "the open loop's offered rate, which the server kept up with",
	results.LimitMaster:      "the prefork master near one core while its workers had room",
	results.LimitServer:      fmt.Sprintf("the server used %g%% or more of its cores: the model's capacity", 100*assess.BusyShare),
	results.LimitShared:      "the CPUs it shares with the generator were busy: compare ratios, not absolute figures",
	results.LimitWait:        "the request's own wait (/io), not a CPU",
	results.LimitConnections: "neither server nor generator near its CPU, latency low: more connections would get more",
	results.LimitUnknown:     "no measured resource near its limit, yet latency high",
}

// limitsCaption tells a chart's reader what limited the cases it draws,
// so that no generator or load limit passes for a model's.
func limitsCaption(cases []*results.Case) string {
	n := map[results.Limit]int{}
	for _, c := range cases {
		if measured(c) && c.Summary.LimitedBy != "" {
			n[c.Summary.LimitedBy]++
		}
	}
	if len(n) == 0 {
		return ""
	}
	var parts []string
	for _, l := range assess.Limits {
		if n[l] > 0 {
			parts = append(parts, fmt.Sprintf("%s (%s)", limitWord(l), plural(n[l], "case")))
		}
	}
	if len(n) == 1 && n[results.LimitServer] > 0 {
		return " Every case was limited by the server's cores."
	}
	return " Limited by: " + strings.Join(parts, ", ") + "."
}

// flaggedCaption tells a chart's reader which of its cases are drawn
// hollow, and why.
func flaggedCaption(flagged []*results.Case) string {
	sat, failed, short, n := flagCount(flagged)
	if n == 0 {
		return ""
	}
	var why []string
	if short > 0 {
		why = append(why, fmt.Sprintf("%s with too few connections to load the server (%s)", plural(short, "case"), markUnderloaded))
	}
	if sat > 0 {
		why = append(why, fmt.Sprintf("%s where the generator saturated (%s in the tables)", plural(sat, "case"), markSaturated))
	}
	if failed > 0 {
		why = append(why, fmt.Sprintf("%s with over %g%% of requests failed (%s)", plural(failed, "case"), 100*assess.FailedFlag, markFailed))
	}
	return fmt.Sprintf(" Drawn hollow, as flagged: %s.", strings.Join(why, "; "))
}

// plural writes a count and its noun: "1 case", "2 cases".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (v view) envTable() doc.Table {
	run, e, pl, st := v.run, v.run.Env, v.run.Placement, v.run.Settings
	t := doc.Table{Head: []string{"", ""}}
	add := func(k, val string) {
		if val != "" {
			t.Rows = append(t.Rows, []string{k, val})
		}
	}
	add("Host", e.Host)
	add("CPU", fmt.Sprintf("%s, %d CPUs", orUnknown(e.CPUModel), e.CPUs))
	if e.MemoryMB > 0 {
		add("Memory", fmt.Sprintf("%s MB", numfmt.Count(e.MemoryMB)))
	}
	add("OS", strings.TrimSpace(fmt.Sprintf("%s/%s %s", e.OS, e.Arch, e.Kernel)))
	add("Virtualization", virtualizationText(e.Virtualization))
	for _, h := range e.Hosts { // a run across hosts: this machine drove it
		add(h.Role+" host "+h.Host, fmt.Sprintf("%s: %s, %d CPUs, %s, kernel %s; clock %+.3f ms (±%.3f) from this one's",
			orUnknown(h.Hostname), orUnknown(h.CPUModel), h.CPUs, h.Arch, h.Kernel, h.ClockOffsetMs, h.ClockRTTMs/2))
	}
	add("Go", e.GoVersion)
	build := strings.TrimSpace(e.Version + " " + shortCommit(e.Commit))
	if dirtyBuild(e) {
		build += " **not a clean commit**"
	}
	add("bench", build)
	if e.CommandLine != "" {
		add("Command", "`"+e.CommandLine+"`")
	}
	add("Profile", orNone(run.Profile))
	if !run.Started.IsZero() {
		add("Started", run.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if !run.Finished.IsZero() {
		add("Finished", run.Finished.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	complete := "yes"
	switch {
	case run.Complete:
	case run.Planned > 0:
		complete = fmt.Sprintf("no: %d of %d cases", len(run.Cases), run.Planned)
	default:
		complete = "no: interrupted"
	}
	add("Complete", complete)
	add("Server CPUs", cpuList(pl.ServerCPUs))
	add("Generator CPUs", cpuList(pl.LoadgenCPUs))
	shared := "no: servers and generator on separate cores"
	if pl.Shared {
		shared = "**yes: servers and generator share cores**"
	}
	add("Shared cores", shared)
	add("Placement", pl.Note)
	if run.Topology != nil { // runs before it had the older policy: a quarter of the CPUs
		add("Topology", TopologyText(run.Topology))
		add("Placement policy", placementPolicy)
	}
	if t := generatorShareText(run); t != "" {
		add("Generator's share, checked", t)
	}
	add("CPU governor", orNotRecorded(e.Noise.Governor))
	add("Turbo/boost", orNotRecorded(e.Noise.Boost))
	add("Other processes", v.othersText())
	add("Measurement", fmt.Sprintf("%s warm-up, %s per repeat, %d repeats, %s engine",
		secs(st.Warmup), secs(st.Duration), st.Repeat, orUnknown(st.Engine)))
	add("Connections", st.ConnectionsFrom)
	if st.CPUIters > 0 || st.IOMs > 0 {
		add("Work per request", fmt.Sprintf("/cpu: %d SHA-256 rounds; /io: %d ms wait", st.CPUIters, st.IOMs))
	}
	return t
}

// orNotRecorded is a machine setting as the environment table writes
// it: "" is a run from before bench recorded it.
func orNotRecorded(s string) string {
	if s == "" {
		return "not recorded"
	}
	return s
}

// othersText sums up the CPU other processes took during the cases.
func (v view) othersText() string {
	most, n := 0.0, 0
	for _, c := range v.run.Cases {
		if c.Summary != nil && c.Summary.OtherCores.N > 0 {
			most, n = max(most, c.Summary.OtherCores.Max), n+1
		}
	}
	if n == 0 {
		return "not recorded"
	}
	return fmt.Sprintf("at most %s of a CPU during a case (a warning over %g, if also over /proc/stat's sampling error)", numfmt.Sig(most), assess.OtherCoresWarn)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func shortCommit(c string) string {
	if c == "" {
		return ""
	}
	return "(" + shortHash(c) + ")"
}

// dirtySuffix marks a version or commit built from a tree with changes
// that were not committed (see cmd/bench's commit()).
const dirtySuffix = "+dirty"

// dirtyBuild reports whether the bench that measured was built from a
// modified tree: its figures come from code no commit holds.
func dirtyBuild(e results.Env) bool {
	return strings.HasSuffix(e.Commit, dirtySuffix) || strings.HasSuffix(e.Version, dirtySuffix)
}

const dirtyWarning = "**Not a clean build.** The bench that measured this run was built from a modified tree " +
	"(`" + dirtySuffix + "`): no commit holds the code behind these numbers, so nobody can rebuild it to check them. " +
	"Reference runs come from a clean, committed build."

func secs(s float64) string { return numfmt.Sig(s) + " s" }

// cpuList writes CPU numbers as ranges: 0-3,6.
func cpuList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, fmt.Sprint(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// caseTable is the numbers of a sweep's cases, one row each.
func caseTable(cases []*results.Case, sweep results.Sweep) doc.Table {
	t := doc.Table{Head: []string{"model", "workers"}}
	open := sweep == results.SweepRate
	if open {
		t.Head = append(t.Head, "offered req/s")
	} else {
		t.Head = append(t.Head, "conns")
	}
	if sweep == results.SweepKeepAlive {
		t.Head = append(t.Head, "keep-alive")
	}
	t.Head = append(t.Head, "req/s (median [min–max])", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors")
	if open {
		t.Head = append(t.Head, "late")
	}
	t.Head = append(t.Head, "server CPU µs/req", "server MB", "fairness", "limited by")
	t.Right = make([]bool, len(t.Head))
	for i := 1; i < len(t.Head); i++ {
		t.Right[i] = t.Head[i] != "keep-alive" && t.Head[i] != "limited by"
	}
	for _, c := range cases {
		row := []string{c.Model, fmt.Sprint(c.Workers)}
		if open {
			row = append(row, numfmt.SI(c.Rate))
		} else {
			row = append(row, fmt.Sprint(c.Connections))
		}
		if sweep == results.SweepKeepAlive {
			row = append(row, onOff(c.KeepAlive))
		}
		if !measured(c) {
			row = append(row, "failed (see [Failed cases](#failed-cases))")
			for len(row) < len(t.Head) {
				row = append(row, "–")
			}
			t.Rows = append(t.Rows, row)
			continue
		}
		s := c.Summary
		rps := spread(s.RPS, numfmt.SI) + flagOf(c).mark()
		lat := func(name string, sp results.Spread) string {
			return bounded(s.LowerBounds, name, median(sp, numfmt.Sig))
		}
		row = append(row, rps, lat("p50", s.P50), lat("p99", s.P99), lat("p999", s.P999), lat("max", s.Max), errorsText(s))
		if open {
			late := numfmt.Count(s.Late)
			if s.Unsent > 0 {
				late += " + " + numfmt.Count(s.Unsent) + " unsent"
			}
			row = append(row, late)
		}
		// Peak resident memory of every server process together: what
		// N processes cost against N threads.
		row = append(row, median(s.ServerCPUPerReq, numfmt.Sig), median(s.ServerRSSMB, numfmt.Sig), fairnessText(c), limitText(s))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// limitText is the "limited by" cell: the limit's word, and the noise
// mark when the case met machine noise.
func limitText(s *results.CaseSummary) string {
	t := limitWord(s.LimitedBy)
	if len(s.Noise) > 0 {
		t += " " + markNoise
	}
	return t
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func errorsText(s *results.CaseSummary) string {
	if s.Errors == 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%s%%)", numfmt.Count(s.Errors), numfmt.Sig(100*s.FailedShare))
}

// uslTable gives the USL fit of every model of a worker sweep, or why it
// has none.
func uslTable(sc *scaling) doc.Table {
	t := doc.Table{
		Head:  []string{"model", "points", "λ (req/s at 1)", "σ contention", "κ coherency", "peak at (workers)", "peak req/s", "R²"},
		Right: []bool{false, true, true, true, true, true, true, true},
	}
	past := len(sc.oversubscribed()) > 0
	if past {
		t.Head = append(t.Head, "past the CPUs (measured)")
		t.Right = append(t.Right, true)
	}
	for _, sr := range sc.series {
		f, ok := sc.fits[sr.model]
		if !ok {
			continue // one point, such as singlecore's one worker: nothing to fit
		}
		points := fmt.Sprint(f.points)
		if f.flagged > 0 {
			points += fmt.Sprintf(" (%d flagged left out)", f.flagged)
		}
		var row []string
		if f.err != nil {
			row = []string{sr.model, points, "not fitted: " + strings.TrimPrefix(f.err.Error(), "usl: "), "", "", "", "", ""}
		} else {
			u := f.usl
			peakN, peakX := "none (κ = 0)", "→ "+numfmt.SI(u.Ceiling())
			if pn, px, ok := u.Peak(); ok {
				peakN, peakX = numfmt.Sig(pn)+sc.peakWhere(pn), numfmt.SI(px)
			} else if u.Sigma == 0 {
				peakX = "unbounded"
			}
			row = []string{sr.model, points, numfmt.SI(u.Lambda), numfmt.Sig(u.Sigma), kappa(u.Kappa), peakN, peakX, fmt.Sprintf("%.3f", u.R2)}
		}
		if past {
			row = append(row, cmp.Or(sc.pastCPUs(sr), "–"))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// kneeTable gives where each model stopped keeping up in the open loop.
func kneeTable(s *section) doc.Table {
	t := doc.Table{
		Head:  []string{"model", "kept up to (req/s)", "p99 there (ms)", "fell behind at (req/s)"},
		Right: []bool{false, true, true, true},
	}
	for _, sr := range s.rateSeries {
		k := s.knees[sr.model]
		up, p99, behind := "none measured", "–", "not reached"
		if k.sustained > 0 {
			up, p99 = numfmt.SI(k.sustained), numfmt.Sig(k.p99)
		}
		if k.failedAt > 0 {
			behind = numfmt.SI(k.failedAt) + k.failedBy.mark()
		}
		t.Rows = append(t.Rows, []string{sr.model, up, p99, behind})
	}
	return t
}

// costTable gives each model's COST and its efficiency at every N.
func costTable(ct *costing) doc.Table {
	var ns []float64
	seen := map[float64]bool{}
	for _, sr := range ct.series {
		for _, x := range sr.xs {
			if !seen[x] {
				seen[x] = true
				ns = append(ns, x)
			}
		}
	}
	sort.Float64s(ns)
	t := doc.Table{Head: []string{"model", "COST (workers)"}, Right: []bool{false, true}}
	for _, n := range ns {
		if u := ct.units(n); u < n {
			t.Head = append(t.Head, fmt.Sprintf("efficiency at %g (per CPU of %g)", n, u))
		} else {
			t.Head = append(t.Head, fmt.Sprintf("efficiency at %g", n))
		}
		t.Right = append(t.Right, true)
	}
	base := []string{fmt.Sprintf("singlecore (baseline: %s req/s)", numfmt.SI(ct.baseline.Summary.RPS.Median)), "–"}
	for _, n := range ns {
		if n == 1 {
			base = append(base, "1.00")
		} else {
			base = append(base, "")
		}
	}
	t.Rows = append(t.Rows, base)
	for _, sr := range ct.series {
		c := ct.costs[sr.model]
		cost := "never beats singlecore"
		if c.Beats() {
			cost = fmt.Sprintf("%g", c.Cores)
		}
		row := []string{sr.model, cost}
		for _, n := range ns {
			cell := "–"
			for i, cs := range sr.cases {
				if e := cs.Summary.RPS.Median / (ct.units(n) * c.Baseline); sr.xs[i] == n && finite(e) {
					cell = fmt.Sprintf("%.2f", e) + flagOf(cs).mark()
				}
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
