package main

import (
	"encoding/json"
	"fmt"
	"github.com/corebench/corebench/internal/remote"
	"io"
	"text/tabwriter"
	"time"

	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
)

// plan is what `bench run --dry-run --json` prints: the run it would
// make, in results.json's names.
type plan struct {
	Profile   string            `json:"profile"`
	Topology  *results.Topology `json:"topology"`
	Placement results.Placement `json:"placement"`
	Servers   []results.Server  `json:"servers,omitempty"` // --server: external servers and their commands
	Cases     []planCase        `json:"cases"`
	EstimateS float64           `json:"estimate_s"`
}

type planCase struct {
	ID          string        `json:"id"`
	Sweep       results.Sweep `json:"sweep"`
	Model       string        `json:"model"`
	Workers     int           `json:"workers"`
	Workload    string        `json:"workload"`
	Connections int           `json:"connections"` // open loop: to start with
	Mode        results.Mode  `json:"mode"`
	RateOf      float64       `json:"rate_of,omitempty"` // open loop: fraction of the measured capacity
	KeepAlive   bool          `json:"keep_alive"`
}

// printPlan prints the plan of a run, as text or as one JSON object.
func printPlan(w io.Writer, asJSON bool, prof suite.Profile, place results.Placement, topo *results.Topology, specs []suite.Spec) error {
	est := suite.Estimate(specs, prof)
	p := plan{Profile: prof.Name, Topology: topo, Placement: place, Servers: suite.ServersOf(prof.Models), Cases: []planCase{}, EstimateS: est.Seconds()}
	for _, s := range specs {
		p.Cases = append(p.Cases, planCase{ID: s.ID, Sweep: s.Sweep, Model: s.Model.Name, Workers: s.Workers,
			Workload: s.Workload, Connections: s.Connections, Mode: s.Mode, RateOf: s.RateOf, KeepAlive: s.KeepAlive})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	fmt.Fprintf(w, "Plan of bench run --profile %s: %d cases, about %v; nothing was run.\n\n", p.Profile, len(specs), est.Round(time.Second))
	fmt.Fprintf(w, "Topology:  %s\nPlacement: %s\n", report.TopologyText(topo), place.Note)
	for _, sv := range p.Servers {
		fmt.Fprintf(w, "Server:    %s = /bin/sh -c %s\n", sv.Name, remote.Quote(sv.Command))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSWEEP\tMODEL\tWORKERS\tWORKLOAD\tCONNECTIONS\tMODE")
	for _, c := range p.Cases {
		mode := string(c.Mode)
		if c.RateOf > 0 {
			mode += fmt.Sprintf(" at %g× capacity", c.RateOf)
		}
		if !c.KeepAlive {
			mode += ", no keep-alive"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\n", c.ID, c.Sweep, c.Model, c.Workers, c.Workload, c.Connections, mode)
	}
	return tw.Flush()
}
