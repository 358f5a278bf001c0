package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/loadgen"
)

func init() {
	register(&command{
		name:    "report",
		summary: "Summarise results files (bench attack --output, vegeta attack), merging several load machines",
		usage:   "report FILE... [--json]",
		examples: `  bench report run.bin                            # the table of one attack's results
  bench report machine1.bin machine2.bin --json   # merge the attacks of two load machines
  vegeta attack -targets t.txt -rate 500 | bench report -   # results on stdin`,
		run: runReport,
	})
}

func runReport(c *cli, args []string) error {
	var asJSON bool
	fs := c.flags()
	fs.BoolVar(&asJSON, "json", false, "print the summary as one JSON object instead of the table")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return usagef("no results file: want bench report FILE... (- for stdin)")
	}
	for _, p := range paths {
		if isRunDir(p) {
			if len(paths) > 1 {
				return usagef("%s is a suite run: report it alone", p)
			}
			return renderRun(c, p)
		}
	}

	var srcs []loadgen.Source
	for _, p := range paths {
		var r io.Reader
		if p == "-" {
			r = os.Stdin
		} else {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		dec := vegeta.DecoderFor(bufio.NewReaderSize(r, 64<<10))
		if dec == nil {
			return fmt.Errorf("%s: not a vegeta results file (gob, json or csv, as bench attack --output or vegeta attack write them), or empty", p)
		}
		srcs = append(srcs, loadgen.Source{Name: p, Dec: dec})
	}
	s, err := loadgen.Merge(srcs, 0)
	if err != nil {
		return err
	}
	return printSummary(c.stdout, s, asJSON)
}

// isRunDir reports whether p is a suite run: a directory, or a
// results.json.
func isRunDir(p string) bool {
	if filepath.Base(p) == "results.json" {
		return true
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// renderRun re-renders a suite run from its directory (or results.json).
// Suite runs do not exist yet; a later version renders them here.
func renderRun(_ *cli, path string) error {
	return errors.New("not a vegeta results file: " + path + "; suite runs are rendered by a later version")
}
