package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// Alpha is the significance level Compare uses unless told otherwise,
// benchstat's default.
const Alpha = 0.05

// Comparison is what changed from run A to run B, case by case, the way
// benchstat compares benchmarks: medians, the relative change with its
// interval (the Hodges–Lehmann ratio B/A, stats.CompareRatio, as the
// verdict states a ratio of models), and a Mann–Whitney U test over the
// repeats that says whether the change is more than noise.
type Comparison struct {
	A, B           *results.Run
	LabelA, LabelB string  // how the output names the runs; their IDs by default
	Alpha          float64 // significance level
	Rows           []CompareRow
	OnlyA, OnlyB   []string // IDs of cases only one run has
}

// CompareRow is one case both runs have, matched by Case.ID.
type CompareRow struct {
	ID       string
	RPS, P99 Change
	// Failed says why the case has no numbers in A or B ("" when both
	// measured it); RPS and P99 are then zero.
	Failed string
	// Flagged says why a run's figures of the case are not the server's
	// capacity ("B: 5% failed"), "" when neither is flagged: more than
	// assess.FailedFlag of its requests failed, or the generator
	// saturated. Flagged rows are left out of the geomean.
	Flagged      string
	flagA, flagB caseFlag
	// NoiseA and NoiseB say the case met machine noise that comes and
	// goes in that run (assess.Disturbed): ‡ in the table.
	NoiseA, NoiseB bool
}

// Change is one metric of a case in both runs.
type Change struct {
	A, B        float64     // medians over the repeats
	NA, NB      int         // repeats with numbers
	Delta       float64     // (B − A) / A of the medians
	Ratio       stats.Ratio // B over A, with its interval
	Test        stats.MannWhitney
	Significant bool // Ratio.Apart(): p < Alpha and the interval excludes no change
	tooFew      bool // the repeats could not give a p below Alpha, whatever the figures
}

// Compare matches the cases of a and b by ID and compares their req/s and
// p99 latency.
func Compare(a, b *results.Run, alpha float64) *Comparison {
	if alpha <= 0 || alpha >= 1 {
		alpha = Alpha
	}
	c := &Comparison{A: a, B: b, LabelA: a.ID, LabelB: b.ID, Alpha: alpha}
	inB := map[string]*results.Case{}
	for i := range b.Cases {
		inB[b.Cases[i].ID] = &b.Cases[i]
	}
	inA := map[string]bool{}
	for i := range a.Cases {
		ca := &a.Cases[i]
		inA[ca.ID] = true
		cb, ok := inB[ca.ID]
		if !ok {
			c.OnlyA = append(c.OnlyA, ca.ID)
			continue
		}
		row := CompareRow{ID: ca.ID}
		switch {
		case !measured(ca) && !measured(cb):
			row.Failed = "failed in both: " + caseError(cb)
		case !measured(ca):
			row.Failed = "failed in A: " + caseError(ca)
		case !measured(cb):
			row.Failed = "failed in B: " + caseError(cb)
		default:
			rps := func(r results.Repeat) float64 { return r.Load.RPS }
			p99 := func(r results.Repeat) float64 { return r.Load.Latency.P99 }
			row.RPS = change(ca, cb, rps, alpha)
			row.P99 = change(ca, cb, p99, alpha)
			row.flagA, row.flagB = flagOf(ca), flagOf(cb)
			row.NoiseA, row.NoiseB = assess.Disturbed(ca, a.Env.CPUs), assess.Disturbed(cb, b.Env.CPUs)
			var why []string
			for _, f := range []struct {
				run  string
				flag caseFlag
			}{{"A", row.flagA}, {"B", row.flagB}} {
				if f.flag.any() {
					why = append(why, f.run+": "+f.flag.words())
				}
			}
			row.Flagged = strings.Join(why, "; ")
		}
		c.Rows = append(c.Rows, row)
	}
	for _, cb := range b.Cases {
		if !inA[cb.ID] {
			c.OnlyB = append(c.OnlyB, cb.ID)
		}
	}
	return c
}

func change(a, b *results.Case, metric func(results.Repeat) float64, alpha float64) Change {
	xa, xb := repeatValues(a, metric), repeatValues(b, metric)
	ch := Change{
		A: stats.SpreadOf(xa).Median, B: stats.SpreadOf(xb).Median,
		NA: len(xa), NB: len(xb),
		Test: stats.MannWhitneyU(xa, xb),
	}
	ch.Delta = math.NaN()
	if ch.A != 0 {
		ch.Delta = (ch.B - ch.A) / ch.A
	}
	ch.Ratio = stats.CompareRatio(xb, xa, alpha)
	ch.Significant = ch.Ratio.Apart()
	ch.tooFew = stats.MinPValue(ch.NA, ch.NB) >= alpha
	return ch
}

// repeatValues returns metric of every repeat that measured something.
func repeatValues(c *results.Case, metric func(results.Repeat) float64) []float64 {
	var out []float64
	for _, r := range c.Repeats {
		if r.Load.Requests > 0 {
			out = append(out, metric(r))
		}
	}
	return out
}

// deltaText is a change as benchstat writes it, "+5.53% (p=0.029 n=4+4)",
// with the interval of the change where the repeats give one,
// "+5.53% [+4.1% +7.0%]", except that a change that is not significant
// keeps its size in brackets after the "~": "~ (+1.2% [-2.0% +4.5%])
// (p=0.343 n=6+6)", and one whose repeats could never be significant
// says so: "~ (+20%) (p=0.333 n=2+2, too few to tell)".
func (ch Change) deltaText() string {
	d := numfmt.Percent(ch.Delta)
	if r := ch.Ratio; r.Bounded() {
		d += fmt.Sprintf(" [%s %s]", numfmt.Percent(r.Lo-1), numfmt.Percent(r.Hi-1))
	}
	if !ch.Significant {
		d = "~ (" + d + ")"
	}
	few := ""
	if ch.tooFew {
		few = ", too few to tell"
	}
	return fmt.Sprintf("%s (p=%.3f n=%d+%d%s)", d, ch.Test.P, ch.NA, ch.NB, few)
}

// Geomean returns the geometric mean of B/A − 1 over the unflagged rows
// where metric has both medians, and how many rows that is.
func (c *Comparison) Geomean(metric func(CompareRow) Change) (float64, int) {
	var sum float64
	n := 0
	for _, r := range c.Rows {
		if r.Failed != "" || r.Flagged != "" {
			continue
		}
		ch := metric(r)
		if ch.A > 0 && ch.B > 0 {
			sum += math.Log(ch.B / ch.A)
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return math.Exp(sum/float64(n)) - 1, n
}

// TooFew returns the rows whose repeats are too few for the test ever to
// reach significance, and the smallest p-value they could give.
func (c *Comparison) TooFew() (rows int, minP float64) {
	for _, r := range c.Rows {
		if r.Failed != "" {
			continue
		}
		if p := stats.MinPValue(r.RPS.NA, r.RPS.NB); p >= c.Alpha {
			rows++
			minP = math.Max(minP, p)
		}
	}
	return rows, minP
}

// tooFewNotes says, for each count of repeats among the rows that cannot
// reach significance, that they cannot tell A from B.
func (c *Comparison) tooFewNotes(measured int) []string {
	type reps struct{ a, b int }
	rows := map[reps]int{}
	var order []reps
	for _, r := range c.Rows {
		if r.Failed != "" || !r.RPS.tooFew {
			continue
		}
		k := reps{r.RPS.NA, r.RPS.NB}
		if rows[k] == 0 {
			order = append(order, k)
		}
		rows[k]++
	}
	var out []string
	for _, k := range order {
		which := "all cases have"
		if rows[k] < measured {
			which = fmt.Sprintf("%d of the %d cases have", rows[k], measured)
		}
		out = append(out, fmt.Sprintf("Note: %s too few repeats: %s (the smallest p-value possible is %.3f, not below %g; "+
			"run both with --repeat %d or more).", which, tooFewRepeats(k.a, k.b, c.Alpha), stats.MinPValue(k.a, k.b), c.Alpha, stats.RepeatsFor(c.Alpha)))
	}
	return out
}

// conditions lists what differs between the runs' machines and settings,
// which a reader must weigh before believing any delta.
func (c *Comparison) conditions() []string {
	a, b := c.A, c.B
	var out []string
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %s → %s", what, orDash(x), orDash(y)))
		}
	}
	diff("host", a.Env.Host, b.Env.Host)
	diff("cpu", a.Env.CPUModel, b.Env.CPUModel)
	diff("cpus", fmt.Sprint(a.Env.CPUs), fmt.Sprint(b.Env.CPUs))
	diff("kernel", a.Env.Kernel, b.Env.Kernel)
	diff("go", a.Env.GoVersion, b.Env.GoVersion)
	diff("commit", shortHash(a.Env.Commit), shortHash(b.Env.Commit))
	diff("server cpus", cpuList(a.Placement.ServerCPUs), cpuList(b.Placement.ServerCPUs))
	diff("generator cpus", cpuList(a.Placement.LoadgenCPUs), cpuList(b.Placement.LoadgenCPUs))
	diff("shared cores", fmt.Sprint(a.Placement.Shared), fmt.Sprint(b.Placement.Shared))
	diff("bench", a.Env.Version, b.Env.Version)
	diff("virtualization", virtWord(a.Env.Virtualization), virtWord(b.Env.Virtualization))
	diff("governor", a.Env.Noise.Governor, b.Env.Noise.Governor)
	diff("profile", a.Profile, b.Profile)
	diff("duration", secs(a.Settings.Duration), secs(b.Settings.Duration))
	diff("repeats", fmt.Sprint(a.Settings.Repeat), fmt.Sprint(b.Settings.Repeat))
	diff("warm-up", secs(a.Settings.Warmup), secs(b.Settings.Warmup))
	diff("repeats interleaved across models", fmt.Sprint(a.Settings.Interleaved), fmt.Sprint(b.Settings.Interleaved))
	diff("connections", fmt.Sprint(a.Settings.Connections), fmt.Sprint(b.Settings.Connections))
	diff("engine", a.Settings.Engine, b.Settings.Engine)
	diff("/cpu work", fmt.Sprint(a.Settings.CPUIters), fmt.Sprint(b.Settings.CPUIters))
	// Noise that comes and goes, case by case: a change in a case that
	// met it in either run may be the noise's.
	var na, nb int
	for _, r := range c.Rows {
		if r.NoiseA {
			na++
		}
		if r.NoiseB {
			nb++
		}
	}
	if na > 0 || nb > 0 {
		out = append(out, fmt.Sprintf("machine noise (other processes' CPU or steal, ‡): %d of the cases compared in A, %d in B", na, nb))
	}
	return out
}

// shortHash shortens a commit to 12 hex digits, keeping a "+dirty"
// suffix: it says the build was not that commit.
func shortHash(s string) string {
	h, dirty := strings.CutSuffix(s, dirtySuffix)
	if len(h) > 12 {
		h = h[:12]
	}
	if dirty {
		h += dirtySuffix
	}
	return h
}

// WriteText writes the comparison as a table for the terminal.
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	runLine := func(tag, label string, r *results.Run) {
		fmt.Fprintf(&b, "%s: %s (profile %s, %d cases", tag, label, orNone(r.Profile), len(r.Cases))
		if !r.Started.IsZero() {
			fmt.Fprintf(&b, ", %s", r.Started.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if !r.Complete {
			b.WriteString(", INCOMPLETE")
		}
		b.WriteString(")\n")
	}
	runLine("A", c.LabelA, c.A)
	runLine("B", c.LabelB, c.B)
	if cond := c.conditions(); len(cond) > 0 {
		fmt.Fprintf(&b, "Conditions differ, weigh every delta with that in mind:\n")
		for _, s := range cond {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	b.WriteString("\n")

	measured := 0
	for _, r := range c.Rows {
		if r.Failed == "" {
			measured++
		}
	}
	if measured == 0 {
		b.WriteString("No case has numbers in both runs.\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "case\treq/s A\treq/s B\tdelta\tp99 ms A\tp99 ms B\tdelta")
		for _, r := range c.Rows {
			if r.Failed != "" {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID,
				numfmt.SI(r.RPS.A)+r.flagA.mark()+noiseMark(r.NoiseA), numfmt.SI(r.RPS.B)+r.flagB.mark()+noiseMark(r.NoiseB), r.RPS.deltaText(),
				numfmt.Sig(r.P99.A), numfmt.Sig(r.P99.B), r.P99.deltaText())
		}
		rps, n := c.Geomean(func(r CompareRow) Change { return r.RPS })
		p99, _ := c.Geomean(func(r CompareRow) Change { return r.P99 })
		if n > 1 {
			fmt.Fprintf(tw, "geomean of %d cases\t\t\t%s\t\t\t%s\n", n, numfmt.Percent(rps), numfmt.Percent(p99))
		}
		tw.Flush()
	}
	var sat, failedShare bool
	for _, r := range c.Rows {
		sat = sat || r.flagA.saturated || r.flagB.saturated
		failedShare = failedShare || r.flagA.failed > 0 || r.flagB.failed > 0
	}
	if failedShare {
		fmt.Fprintf(&b, "\n%s more than %g%% of the case's requests failed in that run: its req/s counts successful responses only.", markFailed, 100*assess.FailedFlag)
	}
	if sat {
		fmt.Fprintf(&b, "\n%s the load generator was saturated in that run: the server may be faster.", markSaturated)
	}
	if sat || failedShare {
		b.WriteString(" Flagged cases are left out of the geomean.\n")
	}
	var failed []string
	for _, r := range c.Rows {
		if r.Failed != "" {
			failed = append(failed, fmt.Sprintf("  %s: %s", r.ID, r.Failed))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(&b, "\nFailed (%d):\n%s\n", len(failed), strings.Join(failed, "\n"))
	}
	if len(c.OnlyA) > 0 {
		fmt.Fprintf(&b, "\nOnly in A (%d): %s\n", len(c.OnlyA), strings.Join(c.OnlyA, ", "))
	}
	if len(c.OnlyB) > 0 {
		fmt.Fprintf(&b, "\nOnly in B (%d): %s\n", len(c.OnlyB), strings.Join(c.OnlyB, ", "))
	}
	if c.anyNoise() {
		fmt.Fprintf(&b, "\n%s machine noise (other processes' CPU or steal) during that run's repeats of the case: its change may be the noise's.\n", markNoise)
	}
	fmt.Fprintf(&b, "\nSignificance: two-sided Mann–Whitney U test over the repeats, with the %g%% interval of the change\n"+
		"(Hodges–Lehmann, from the same test); ~ means p >= %g or an interval that holds no change: no change shown,\n"+
		"the bracketed delta may be noise.\n", 100*(1-c.Alpha), c.Alpha)
	for _, n := range c.tooFewNotes(measured) {
		fmt.Fprintln(&b, n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func noiseMark(noisy bool) string {
	if noisy {
		return " " + markNoise
	}
	return ""
}

func (c *Comparison) anyNoise() bool {
	for _, r := range c.Rows {
		if r.NoiseA || r.NoiseB {
			return true
		}
	}
	return false
}

// virtWord is a machine's virtualization in a word or two, for comparing.
func virtWord(v *results.Virtualization) string {
	switch {
	case v == nil:
		return ""
	case v.Emulated:
		return "emulated"
	case v.Virtualized:
		return cmp.Or(v.Hypervisor, "virtual")
	}
	return "bare metal"
}
