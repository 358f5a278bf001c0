package report

import (
	"fmt"
	"image/color"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// neighborColor is the neighbour's own colour in the sizing charts: not a
// model's, since it stands for something else on the box.
var neighborColor = storeColor

// sizingCharts draws the sizing scenario: the app's req/s under each
// setup, and what the neighbour got done meanwhile.
func sizingCharts(r *results.Scenario, dir, sub string) ([]string, error) {
	sz := r.Sizing
	if len(sz.Runs) == 0 {
		return nil, fmt.Errorf("scenario sizing: no setup was measured")
	}
	var labels, nlabels, p99s []string
	var rps, qps []float64
	var colors, ncolors []color.Color
	for _, run := range sz.Runs {
		// "max, alone" reads "max (2 workers)" over "alone".
		l := run.Setup
		if i := strings.Index(l, ", "); i > 0 {
			l = fmt.Sprintf("%s (%s)%s", l[:i], plural(run.Workers, "worker"), l[i:])
		}
		labels = append(labels, l)
		rps = append(rps, run.RPS)
		colors = append(colors, modelColor(r.Model))
		p99s = append(p99s, fmt.Sprintf("%s: %s", run.Setup, numfmt.Millis(run.P99)))
		if run.Neighbor {
			nlabels, qps, ncolors = append(nlabels, l), append(qps, run.NeighborQPS), append(ncolors, neighborColor)
		}
	}
	files, err := writeBars(dir, "app", barChart{
		Title:    fmt.Sprintf("The app: %s workers on %d CPUs", r.Model, sz.CPUs),
		Subtitle: fmt.Sprintf("%s\nclosed loop of %d connections on %s; the neighbour on CPU %d", sub, sz.Connections, sz.Path, sz.NeighborCPU),
		YLabel:   "req/s", Labels: labels, Values: rps, Colors: colors,
		Note: "the app's p99 (closed loop): " + strings.Join(p99s, "; "),
	})
	if err != nil {
		return nil, err
	}
	more, err := writeBars(dir, "neighbor", barChart{
		Title:    "The neighbour: queries per second beside the app",
		Subtitle: fmt.Sprintf("%s\none query at a time of %s CPU each, pinned to CPU %d", sub, numfmt.Millis(sz.NeighborMs), sz.NeighborCPU),
		YLabel:   "queries/s", Labels: nlabels, Values: qps, Colors: ncolors,
		Ref: sz.NeighborQPS, RefLabel: "alone",
		Format: func(v float64) string { return fmt.Sprintf("%.1f", v) },
	})
	return append(files, more...), err
}

// sizingText writes the sizing scenario's table.
func sizingText(w io.Writer, sz *results.SizingResult) {
	fmt.Fprintf(w, "the neighbour, pinned to CPU %d: %.1f queries/s of %s each, alone\n", sz.NeighborCPU, sz.NeighborQPS, numfmt.Millis(sz.NeighborMs))
	fmt.Fprintf(w, "the app: closed loop of %d connections on %s\n\n", sz.Connections, sz.Path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SETUP\tWORKERS\tREQ/S\tP50\tP99\tNEIGHBOUR Q/S\tITS P99\t")
	for _, r := range sz.Runs {
		nq, np := "-", "-"
		if r.Neighbor {
			nq, np = fmt.Sprintf("%.1f", r.NeighborQPS), numfmt.Millis(r.NeighborP99)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t\n", r.Setup, r.Workers, r.RPS, numfmt.Millis(r.P50), numfmt.Millis(r.P99), nq, np)
	}
	tw.Flush()
}
