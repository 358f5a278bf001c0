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

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

func init() {
	register(&command{
		name:    "report",
		summary: "Re-render a run's report from its results.json, or summarise and merge attack results files",
		usage:   "report DIR|DIR/results.json [--out DIR] [--json]  |  report FILE... [--json]",
		examples: `  bench report results/20261122T101500Z-bench8         # redraw a run's charts, tables and page, without rerunning
  bench report old/results.json --out /tmp/old-report  # render somewhere else
  bench report run.bin                                 # the table of one attack's results (bench attack --output)
  bench report machine1.bin machine2.bin --json        # merge the attacks of two load machines
  bench report results/20261122T101500Z-bench8 --json  # redraw, and print the run as one JSON object
  vegeta attack -targets t.txt -rate 500 | bench report -   # results on stdin`,
		run: runReport,
	})
}

func runReport(c *cli, args []string) error {
	var asJSON bool
	var out string
	fs := c.flags()
	fs.BoolVar(&asJSON, "json", false, "print one JSON object instead of text: attack results' summary instead of the table; a suite run as read (results.json, limited_by derived) instead of the files written")
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
			if asJSON {
				return renderRunJSON(c, p, out)
			}
			return renderRun(c, p, out)
		}
	}

	// Results files (every request) merge in step, by time; once a
	// summary (bench attack --json) is among them, each file is
	// summarised alone and the summaries merged.
	var srcs []loadgen.Source
	var parts []stats.Part // in the order given; a results file's Summary is nil until summarised
	summaries := false
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
		br := bufio.NewReaderSize(r, 64<<10)
		if head, _ := br.Peek(len(summaryPrefix)); string(head) == summaryPrefix {
			var s results.Summary
			if err := json.NewDecoder(br).Decode(&s); err != nil {
				return fmt.Errorf("%s: not a bench attack --json summary: %v", p, err)
			}
			parts = append(parts, stats.Part{Host: p, Summary: &s})
			summaries = true
			continue
		}
		dec := vegeta.DecoderFor(br)
		if dec == nil {
			return fmt.Errorf("%s: not a vegeta results file (gob, json or csv, as bench attack --output or vegeta attack write them) nor a bench attack --json summary, or empty", p)
		}
		srcs = append(srcs, loadgen.Source{Name: p, Dec: dec})
		parts = append(parts, stats.Part{Host: p})
	}
	var s *results.Summary
	var err error
	if !summaries {
		s, err = loadgen.Merge(srcs, 0)
	} else {
		for i := range parts {
			if parts[i].Summary != nil {
				continue
			}
			if parts[i].Summary, err = loadgen.Merge(srcs[:1], 0); err != nil {
				return err
			}
			srcs = srcs[1:]
		}
		if len(parts) == 1 {
			s = parts[0].Summary
		} else {
			s, err = stats.Merge(parts)
		}
	}
	if err != nil {
		return err
	}
	if err := results.SegmentsMissing(s.LoadHosts); err != nil {
		fmt.Fprintf(c.stderr, "bench report: warning: %v\n", err)
	}
	return printSummary(c.stdout, s, asJSON)
}

// renderRunJSON renders the suite run at path as renderRun does and
// prints the run as one JSON object instead of the files written, as
// bench scenario --json prints its result.
func renderRunJSON(c *cli, path, out string) error {
	quiet := *c
	quiet.stdout = io.Discard
	if err := renderRun(&quiet, path, out); err != nil {
		return err
	}
	run, err := results.Load(path)
	if err != nil {
		return err
	}
	assess.Run(run) // limited_by derived where the file predates it
	return json.NewEncoder(c.stdout).Encode(run)
}

// summaryPrefix starts every bench attack --json line: the summary's
// first field.
const summaryPrefix = `{"engine":`

// isRunDir reports whether p is a suite run rather than attack results:
// a directory; a JSON document that is not a vegeta result (results.Load
// then says whether it is damaged, foreign or of another schema); a
// .json file that is not JSON at all; or a path that does not exist, so
// the error speaks of results files.
func isRunDir(p string) bool {
	if p == "-" {
		return false
	}
	if head, err := readHead(p, len(summaryPrefix)); err == nil && string(head) == summaryPrefix {
		return false // bench attack --json
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

func readHead(p string, n int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	return b, err
}
