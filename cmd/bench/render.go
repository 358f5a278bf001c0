package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
)

func init() {
	register(&command{
		name:    "report",
		summary: "Re-render a run's report (charts, tables, page, bench.txt) from its results.json, without rerunning",
		usage:   "report DIR|DIR/results.json [--out DIR]",
		examples: `  bench report results/20261122T101500Z-bench8         # redraw the run's report in place
  bench report old/results.json --out /tmp/old-report  # render somewhere else`,
		run: runRenderReport,
	})
}

func runRenderReport(c *cli, args []string) error {
	var out string
	fs := c.flags()
	fs.StringVar(&out, "out", "", "directory to write the report into (default: beside results.json)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one run: bench report DIR or DIR/results.json")
	}
	return renderRun(c, fs.Arg(0), out)
}

// renderRun renders the suite run at path (a run directory or its
// results.json) into out, or beside results.json when out is empty, and
// prints the files written.
func renderRun(c *cli, path, out string) error {
	run, err := results.Load(path)
	if err != nil {
		return err
	}
	if out == "" {
		out = path
		if st, err := os.Stat(path); err == nil && !st.IsDir() {
			out = filepath.Dir(path)
		}
	}
	files, err := report.Render(run, out)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(c.stdout, f)
	}
	return nil
}
