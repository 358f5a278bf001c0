package main

import (
	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
)

func init() {
	register(&command{
		name:    "compare",
		summary: "Compare two suite runs case by case: req/s and p99, deltas and their significance",
		usage:   "compare A B [--alpha P]",
		examples: `  bench compare results/<a> results/<b>           # run directories
  bench compare old/results.json new/results.json
  bench compare results/<a> results/<b> --alpha 0.01`,
		run: runCompare,
	})
}

func runCompare(c *cli, args []string) error {
	var alpha float64
	fs := c.flags()
	fs.Float64Var(&alpha, "alpha", report.Alpha, "significance level of the Mann-Whitney U test")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want two runs: bench compare A B (run directories or results.json files)")
	}
	if alpha <= 0 || alpha >= 1 {
		return usagef("--alpha %g: want a level between 0 and 1, such as 0.05", alpha)
	}
	a, err := results.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := results.Load(fs.Arg(1))
	if err != nil {
		return err
	}
	assess.Run(a) // limited_by derived where a file predates it
	assess.Run(b)
	cmp := report.Compare(a, b, alpha)
	cmp.LabelA, cmp.LabelB = fs.Arg(0), fs.Arg(1)
	return cmp.WriteText(c.stdout)
}
