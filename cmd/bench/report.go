package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/loadgen"
)

func init() {
	register(&command{
		name:    "report",
		summary: "Re-render a run's report from its results.json, or summarise and merge attack results files",
		usage:   "report DIR|DIR/results.json [--out DIR]  |  report FILE... [--json]",
		examples: `  bench report results/20261122T101500Z-bench8         # redraw a run's charts, tables and page, without rerunning
  bench report old/results.json --out /tmp/old-report  # render somewhere else
  bench report run.bin                                 # the table of one attack's results (bench attack --output)
  bench report machine1.bin machine2.bin --json        # merge the attacks of two load machines
  vegeta attack -targets t.txt -rate 500 | bench report -   # results on stdin`,
		run: runReport,
	})
}

func runReport(c *cli, args []string) error {
	var asJSON bool
	var out string
	fs := c.flags()
	fs.BoolVar(&asJSON, "json", false, "attack results: print the summary as one JSON object instead of the table")
	fs.StringVar(&out, "out", "", "suite run: directory to write the report into (default: beside results.json)")
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
			return renderRun(c, p, out)
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

// isRunDir reports whether p is a suite run rather than attack results:
// a directory; a JSON document that is not a vegeta result (results.Load
// then says whether it is damaged, foreign or of another schema); a
// .json file that is not JSON at all; or a path that does not exist, so
// the error speaks of results files.
func isRunDir(p string) bool {
	if p == "-" {
		return false
	}
	st, err := os.Stat(p)
	if err != nil || st.IsDir() {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	trimmed := bytes.TrimLeft(head[:n], " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return strings.HasSuffix(p, ".json")
	}
	var first map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(trimmed)).Decode(&first) != nil {
		// Cut off within 4 KB: a big document, so not one result per line.
		return true
	}
	_, attack := first["attack"]
	_, latency := first["latency"]
	return !(attack && latency)
}
