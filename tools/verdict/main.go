// Command verdict checks corebench's verdicts against runs whose right
// answer is known (docs/performance.md, "Verdicts"): given the directories
// of several runs of one build under one profile, it compares every pair
// as bench compare does, where any change called significant is a false
// alarm, and in every run calls singlecore (one core) against each model
// with two cores on /cpu, a difference that must be called each time; and
// it sets every run's verdict on every two models beside every other run's.
//
//	go run ./tools/verdict DIR...
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./tools/verdict DIR DIR...")
		os.Exit(2)
	}
	var runs []*results.Run
	for _, dir := range os.Args[1:] {
		r, err := results.Load(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "verdict: %v\n", err)
			os.Exit(1)
		}
		runs = append(runs, r)
	}
	name := func(i int) string { return filepath.Base(os.Args[1+i]) }
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)

	fmt.Fprintln(tw, "# Identical builds: every pair of runs compared case by case (bench compare); a significant change is a false alarm.")
	fmt.Fprintln(tw, "pair\tmetric\tcompared\tsignificant\tthe changes called")
	var total, alarms [2]int
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			c := report.Compare(runs[i], runs[j], report.Alpha)
			for m, metric := range []struct {
				name string
				of   func(report.CompareRow) report.Change
			}{{"req/s", func(r report.CompareRow) report.Change { return r.RPS }}, {"p99", func(r report.CompareRow) report.Change { return r.P99 }}} {
				n, sig, worst := 0, 0, ""
				for _, row := range c.Rows {
					if row.Failed != "" {
						continue
					}
					n++
					if ch := metric.of(row); ch.Significant {
						sig++
						worst += fmt.Sprintf("%s %+.1f%%; ", row.ID, 100*ch.Delta)
					}
				}
				total[m] += n
				alarms[m] += sig
				fmt.Fprintf(tw, "%s-%s\t%s\t%d\t%d\t%s\n", name(i), name(j), metric.name, n, sig, strings.TrimSuffix(worst, "; "))
			}
		}
	}
	fmt.Fprintf(tw, "all pairs\treq/s\t%d\t%d\t\n", total[0], alarms[0])
	fmt.Fprintf(tw, "all pairs\tp99\t%d\t%d\t\n", total[1], alarms[1])
	tw.Flush()

	fmt.Println()
	fmt.Fprintln(tw, "# One core against two: /cpu, singlecore against each model with two cores, in every run; each must be called.")
	fmt.Fprintln(tw, "run\tmodel\tratio to singlecore\tinterval\tp\tcalled")
	called, calls := 0, 0
	for i, r := range runs {
		var single *results.Case
		for k := range r.Cases {
			if c := &r.Cases[k]; c.Sweep == results.SweepModels && c.Workload == "cpu" && c.Model == "singlecore" {
				single = c
			}
		}
		if single == nil {
			continue
		}
		for k := range r.Cases {
			c := &r.Cases[k]
			if c.Sweep != results.SweepModels || c.Workload != "cpu" || c.Model == "singlecore" || c.Workers < 2 {
				continue
			}
			q := stats.CompareRatio(rps(c), rps(single), report.Alpha)
			calls++
			yes := "no"
			if q.Apart() && q.Lo > 1 {
				called++
				yes = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f–%.2f\t%.4f\t%s\n", name(i), c.Model, q.Est, q.Lo, q.Hi, q.P, yes)
		}
	}
	fmt.Fprintf(tw, "all runs\t\t\t\t\t%d of %d\n", called, calls)
	tw.Flush()

	// Each run's verdict on every two models of a workload: ahead, behind,
	// or cannot tell. Runs of one build agree where no two call a pair
	// differently; a contradiction is one ahead where another is behind.
	fmt.Println()
	fmt.Fprintln(tw, "# Verdicts of identical builds: every two models of a workload, called in every pair of runs.")
	fmt.Fprintln(tw, "pair	model pairs	same call	one called, one could not tell	contradicted")
	calls2 := make([]map[string]int, len(runs))
	for i, r := range runs {
		calls2[i] = modelCalls(r)
	}
	var sumN, sumSame, sumHalf, sumContra int
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			n, same, half, contra := 0, 0, 0, 0
			for k, a := range calls2[i] {
				b, ok := calls2[j][k]
				if !ok {
					continue
				}
				n++
				switch {
				case a == b:
					same++
				case a*b < 0:
					contra++
				default:
					half++
				}
			}
			sumN, sumSame, sumHalf, sumContra = sumN+n, sumSame+same, sumHalf+half, sumContra+contra
			fmt.Fprintf(tw, "%s-%s\t%d\t%d\t%d\t%d\n", name(i), name(j), n, same, half, contra)
		}
	}
	fmt.Fprintf(tw, "all pairs\t%d\t%d\t%d\t%d\n", sumN, sumSame, sumHalf, sumContra)
	tw.Flush()
}

// modelCalls is a run's call on every two models of each workload's
// models sweep: 1 when the first is ahead (the verdict's test and
// interval), -1 when behind, 0 when they cannot be told apart.
func modelCalls(r *results.Run) map[string]int {
	by := map[string][]*results.Case{}
	for k := range r.Cases {
		if c := &r.Cases[k]; c.Sweep == results.SweepModels && c.Summary != nil {
			by[c.Workload] = append(by[c.Workload], c)
		}
	}
	out := map[string]int{}
	for w, cs := range by {
		for i, a := range cs {
			for _, b := range cs[i+1:] {
				q := stats.CompareRatio(rps(a), rps(b), report.Alpha)
				call := 0
				if q.Apart() {
					call = 1
					if q.Hi < 1 {
						call = -1
					}
				}
				out[w+": "+a.Model+" vs "+b.Model] = call
			}
		}
	}
	return out
}

func rps(c *results.Case) []float64 {
	var out []float64
	for _, r := range c.Repeats {
		if r.Load.Requests > 0 {
			out = append(out, r.Load.RPS)
		}
	}
	return out
}
