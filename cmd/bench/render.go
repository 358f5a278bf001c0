package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
)

// renderRun renders the suite run at path (a run directory or its
// results.json) into out, or beside results.json when out is empty, and
// prints the files written.
func renderRun(c *cli, path, out string) error {
	run, err := results.Load(path)
	if err != nil {
		return err
	}
	assess.Run(run) // limited_by derived where the file predates it
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
