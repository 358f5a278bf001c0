package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/doc"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// The verdict answers the question a run is for: per workload, which
// model served most, by how much against each other (the ratio of
// req/s with its interval, stats.CompareRatio), which cannot be told
// apart from it, and what limited each. A flagged case (failures, a
// saturated generator, too few connections) is named, not ranked: its
// req/s is not the server's capacity. Machine noise that comes and goes
// (other processes' CPU, steal: assess.Disturbed) is named too; it keeps
// a case out of the ranking only where the repeats ran back to back,
// since interleaved repeats spread it over every model alike and the
// interval then includes it (docs/performance.md, "Verdicts"). A
// governor other than performance is a condition every model met alike.

// verdict is one workload's.
type verdict struct {
	workload, path string
	leader         *results.Case   // served most
	ties           []versus        // not told apart from the leader
	behind         []versus        // told apart: the leader is ahead of each
	flagged        []*results.Case // named, not ranked
	noisy          []*results.Case // ranked, but met machine noise
	tooFew         string          // why nothing can be told, or ""
	alone          bool            // one model ranked: nothing to compare it with
}

// versus is the leader against another case: leader's req/s over its.
type versus struct {
	c *results.Case
	r stats.Ratio
}

func rpsOf(r results.Repeat) float64 { return r.Load.RPS }

// verdictOf judges the models side by side of one workload.
func verdictOf(cases []*results.Case, cpus int, interleaved bool, alpha float64) *verdict {
	var ranked []*results.Case
	v := &verdict{}
	for _, c := range cases {
		if !measured(c) {
			continue
		}
		v.workload, v.path = c.Workload, c.Path
		noisy := assess.Disturbed(c, cpus)
		switch {
		case flagOf(c).any() || noisy && !interleaved:
			v.flagged = append(v.flagged, c)
		default:
			if noisy {
				v.noisy = append(v.noisy, c)
			}
			ranked = append(ranked, c)
		}
	}
	if len(ranked) == 0 {
		if len(v.flagged) == 0 {
			return nil
		}
		return v
	}
	slices.SortStableFunc(ranked, func(a, b *results.Case) int {
		return cmp.Compare(b.Summary.RPS.Median, a.Summary.RPS.Median) // most first
	})
	v.leader = ranked[0]
	if len(ranked) == 1 {
		v.alone = true
		return v
	}
	lead := repeatValues(v.leader, rpsOf)
	if tooFewForAll(ranked, alpha) != "" {
		n := len(lead)
		v.tooFew = fmt.Sprintf("%s a side cannot tell models apart (no p below %s)", plural(n, "repeat"), numfmt.Sig(stats.MinPValue(n, n)))
	}
	for _, c := range ranked[1:] {
		vs := versus{c, stats.CompareRatio(lead, repeatValues(c, rpsOf), alpha)}
		if vs.r.Apart() {
			v.behind = append(v.behind, vs)
		} else {
			v.ties = append(v.ties, vs)
		}
	}
	return v
}

// ratioText is "2.24× [2.10–2.39]", the interval left out when there
// were too few repeats for one.
func ratioText(r stats.Ratio) string {
	f := func(x float64) string {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return "–"
		case x >= 100:
			return fmt.Sprintf("%.0f", x)
		case x >= 10:
			return fmt.Sprintf("%.1f", x)
		}
		return fmt.Sprintf("%.2f", x)
	}
	if !r.Bounded() {
		return f(r.Est) + "×"
	}
	return fmt.Sprintf("%s× [%s–%s]", f(r.Est), f(r.Lo), f(r.Hi))
}

// pText is "p = 0.002", "p = 0.37", or "p < 0.001".
func pText(p float64) string {
	switch {
	case p < 0.001:
		return "p < 0.001"
	case p < 0.01:
		return fmt.Sprintf("p = %.3f", p)
	}
	return fmt.Sprintf("p = %.2f", p)
}

// names joins case names: "a", "a and b", "a, b and c".
func names(cases []*results.Case, name func(*results.Case) string) string {
	var s []string
	for _, c := range cases {
		s = append(s, name(c))
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// sentences are the verdict in words, the first the answer itself;
// mark emphasises a model's name (** in Markdown, nothing in a terminal).
func (v *verdict) sentences(mark string) []string {
	name := func(c *results.Case) string { return mark + c.Model + mark }
	var out []string
	if v.leader == nil {
		return []string{fmt.Sprintf("No model ranked: %s %s flagged (%s).", names(v.flagged, name),
			isAre(len(v.flagged)), flagReasons(v.flagged))}
	}
	rps := numfmt.SI(v.leader.Summary.RPS.Median) + " req/s"
	if v.tooFew != "" {
		// Not a verdict: the order of the medians, and why it is no more.
		var rs []string
		for _, t := range v.ties {
			rs = append(rs, fmt.Sprintf("%s by %s", t.c.Model, ratioText(t.r)))
		}
		out = append(out, fmt.Sprintf("%s had the highest median, %s, ahead of %s; but %s, so this order is not a verdict (`bench run --repeat 6`).",
			name(v.leader), rps, strings.Join(rs, ", "), v.tooFew))
		return append(out, v.notes()...)
	}
	switch {
	case v.alone:
		out = append(out, fmt.Sprintf("%s served %s, with no other model ranked beside it.", name(v.leader), rps))
	case len(v.ties) == 0:
		out = append(out, fmt.Sprintf("%s served most, %s.", name(v.leader), rps))
	default:
		var tied []*results.Case
		for _, t := range v.ties {
			tied = append(tied, t.c)
		}
		what := "cannot be told apart from it"
		var rs []string
		for _, t := range v.ties {
			if len(v.ties) == 1 {
				rs = append(rs, fmt.Sprintf("%s, %s", ratioText(t.r), pText(t.r.P)))
			} else {
				rs = append(rs, fmt.Sprintf("%s: %s, %s", t.c.Model, ratioText(t.r), pText(t.r.P)))
			}
		}
		out = append(out, fmt.Sprintf("%s served most, %s; %s %s (%s).", name(v.leader), rps,
			names(tied, name), what, strings.Join(rs, "; ")))
	}
	if len(v.behind) > 0 {
		var rs []string
		for _, b := range v.behind {
			rs = append(rs, fmt.Sprintf("%s by %s (%s)", b.c.Model, ratioText(b.r), pText(b.r.P)))
		}
		out = append(out, fmt.Sprintf("Ahead of %s.", strings.Join(rs, ", ")))
	}
	return append(out, v.notes()...)
}

// notes say what limited the ranked models, and which were noisy or
// flagged.
func (v *verdict) notes() []string {
	var out []string
	if lim := v.limits(); lim != "" {
		out = append(out, lim)
	}
	if len(v.noisy) > 0 {
		who := names(v.noisy, func(c *results.Case) string { return c.Model })
		if len(v.noisy) == 1+len(v.ties)+len(v.behind) && len(v.noisy) > 1 {
			who = "Every model"
		}
		out = append(out, fmt.Sprintf("%s met machine noise ‡ (other processes' CPU or steal); the repeats were interleaved, so it fell on every model alike and the intervals include it.", who))
	}
	if len(v.flagged) > 0 {
		out = append(out, fmt.Sprintf("Not ranked: %s (%s).", names(v.flagged, func(c *results.Case) string { return c.Model }), flagReasons(v.flagged)))
	}
	return out
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// limits says what limited the ranked models, grouped by limit.
func (v *verdict) limits() string {
	ranked := []*results.Case{v.leader}
	for _, t := range v.ties {
		ranked = append(ranked, t.c)
	}
	for _, b := range v.behind {
		ranked = append(ranked, b.c)
	}
	by := map[results.Limit][]*results.Case{}
	var order []results.Limit
	for _, c := range ranked {
		l := c.Summary.LimitedBy
		if l == "" {
			continue
		}
		if by[l] == nil {
			order = append(order, l)
		}
		by[l] = append(by[l], c)
	}
	if len(order) == 0 {
		return ""
	}
	model := func(c *results.Case) string { return c.Model }
	if len(order) == 1 {
		who := "Each"
		if len(ranked) == 2 {
			who = "Both"
		}
		if len(ranked) == 1 {
			who = "It"
		}
		return fmt.Sprintf("%s limited by %s.", who, limitPhrase(order[0]))
	}
	var parts []string
	for _, l := range order {
		parts = append(parts, fmt.Sprintf("%s by %s", names(by[l], model), limitPhrase(l)))
	}
	return "Limited: " + strings.Join(parts, "; ") + "."
}

// limitPhrase is a limit as the object of "limited by".
func limitPhrase(l results.Limit) string {
	switch l {
	case results.LimitServer:
		return "the server's cores"
	case results.LimitShared:
		return "the cores shared with the generator"
	case results.LimitGenerator:
		return "the load generator"
	case results.LimitMaster:
		return "the prefork master"
	case results.LimitConnections:
		return "too few connections"
	case results.LimitRate:
		return "the offered rate"
	case results.LimitWait:
		return "the request's own wait"
	case results.LimitFailures:
		return "failed requests"
	case results.LimitUnknown:
		return "no resource measured near its limit"
	}
	return limitWord(l)
}

// flagReasons says why flagged cases are not ranked, in a few words.
func flagReasons(cases []*results.Case) string {
	var why []string
	add := func(s string) {
		if !slices.Contains(why, s) {
			why = append(why, s)
		}
	}
	for _, c := range cases {
		f := flagOf(c)
		if f.failed > 0 {
			add("failed requests")
		}
		if f.saturated {
			add("the generator saturated")
		}
		if f.underloaded {
			add("too few connections to load it")
		}
		if !f.any() {
			add("machine noise during repeats run back to back")
		}
	}
	return strings.Join(why, "; ")
}

// verdicts are the run's, one per workload with models side by side.
func (v view) verdicts() []*verdict {
	var out []*verdict
	for _, w := range v.workloads() {
		s := v.section(w)
		if vd := verdictOf(s.models, v.run.Env.CPUs, v.run.Settings.Interleaved, Alpha); vd != nil {
			out = append(out, vd)
		}
	}
	return out
}

// verdictSection opens the report with the answer.
func (v view) verdictSection(d *doc.Doc) {
	vs := v.verdicts()
	if len(vs) == 0 {
		return
	}
	d.H(2, "Verdict")
	var items []string
	for _, vd := range vs {
		items = append(items, fmt.Sprintf("**%s** (`%s`): %s", vd.workload, vd.path, strings.Join(vd.sentences("**"), " ")))
	}
	d.List("verdict", items)
	how := fmt.Sprintf("Ratios of req/s, the leader's over each model's: the Hodges–Lehmann estimate with its %g%% interval; "+
		"two models are told apart when the Mann–Whitney test over their repeats gives p < %g.", 100*(1-Alpha), Alpha)
	if v.run.Settings.Interleaved {
		how += " The repeats of the models were interleaved in random order, so a drift of the machine falls on all alike."
	} else {
		how += " The repeats of each model ran back to back, so a drift of the machine between models can pass for a difference."
	}
	d.P("note", "%s", how)
}

// VerdictLines is the verdict for a terminal: one line per workload.
func VerdictLines(run *results.Run) []string {
	var out []string
	for _, vd := range (view{run: run}).verdicts() {
		out = append(out, fmt.Sprintf("%s (%s): %s", vd.workload, vd.path, strings.Join(vd.sentences(""), " ")))
	}
	return out
}

// tooFewForAll says why no two of cases can be told apart by the number
// of their repeats alone, or "" when some two can.
func tooFewForAll(cases []*results.Case, alpha float64) string {
	why := ""
	n := func(c *results.Case) int { return len(repeatValues(c, rpsOf)) }
	for i, a := range cases {
		for _, b := range cases[i+1:] {
			w := tooFewRepeats(n(a), n(b), alpha)
			if w == "" {
				return ""
			}
			why = w
		}
	}
	return why
}

// tooFewRepeats says that m against n repeats cannot separate two
// figures at alpha, and how many can: "2 repeats cannot tell these
// apart; 4 or more per side can reach p<0.05". It is "" when they can.
func tooFewRepeats(m, n int, alpha float64) string {
	if stats.MinPValue(m, n) < alpha {
		return ""
	}
	reps := fmt.Sprintf("%d repeats", m)
	if m != n {
		reps = fmt.Sprintf("%d and %d repeats", m, n)
	} else if m == 1 {
		reps = "1 repeat"
	}
	return fmt.Sprintf("%s cannot tell these apart; %d or more per side can reach p<%g", reps, stats.RepeatsFor(alpha), alpha)
}
