package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"

	"github.com/corebench/corebench/internal/remote"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
)

// hostFlags are bench run's flags for a run across hosts.
type hostFlags struct {
	server string
	load   []string
	ssh    string
}

func (h *hostFlags) define(fs interface {
	StringVar(*string, string, string, string)
	StringArrayVar(*[]string, string, []string, string)
}) {
	fs.StringVar(&h.server, "server-host", "", "run every server on this host, [user@]host[:port], over ssh; the load hosts (or this machine) must reach it at that name")
	fs.StringArrayVar(&h.load, "loadgen-host", nil, "send the load from this host, [user@]host[:port], over ssh (repeatable): each sends one segment of it, all started together")
	fs.StringVar(&h.ssh, "ssh", "ssh", "the ssh command line for --server-host and --loadgen-host, e.g. 'ssh -i KEY -o StrictHostKeyChecking=no'")
}

func (h *hostFlags) any() bool { return h.server != "" || len(h.load) > 0 }

// check validates the flags without contacting any host.
func (h *hostFlags) check() error {
	specs := append([]string{}, h.load...)
	if h.server != "" {
		specs = append(specs, h.server)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		sp, err := remote.ParseSpec(s)
		if err != nil {
			return usagef("%v", err)
		}
		if seen[sp.String()] && s != h.server {
			return usagef("--loadgen-host %s given twice: each load host sends its own segment", s)
		}
		seen[sp.String()] = true
	}
	if _, err := remote.SplitWords(h.ssh); err != nil || strings.TrimSpace(h.ssh) == "" {
		return usagef("--ssh %q: want a command line, e.g. 'ssh -i KEY'", h.ssh)
	}
	return nil
}

// hosts is a run's other machines, dialed.
type hosts struct {
	server *remote.Host
	load   []*remote.Host
}

// dial reaches every host at once (each ships bench and measures its
// clock) and reports each on stderr; the first failure fails them all.
func (h *hostFlags) dial(ctx context.Context, stderr io.Writer) (*hosts, error) {
	sshArgs, _ := remote.SplitWords(h.ssh)
	specs := append([]string{}, h.load...)
	if h.server != "" {
		specs = append(specs, h.server)
	}
	got := make([]*remote.Host, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { got[i], errs[i] = remote.Dial(ctx, s, remote.Options{SSH: sshArgs}) })
	}
	wg.Wait()
	hs := &hosts{load: got[:len(h.load)]}
	if h.server != "" {
		hs.server = got[len(specs)-1]
	}
	for _, err := range errs {
		if err != nil {
			hs.close(stderr)
			return nil, err
		}
	}
	for i, x := range got {
		role := "load"
		if i == len(h.load) {
			role = "server"
		}
		how := "shipped to " + x.Dir
		if x.Dir == "" {
			how = "found at " + x.Bench
		}
		fmt.Fprintf(stderr, "bench run: %s host %s: %s, %d CPUs, kernel %s; bench %s; clock %+.3f ms (±%.3f)\n",
			role, x.Spec, x.Machine.CPUModel, x.Machine.CPUs, x.Machine.Kernel, how, x.Clock.OffsetMs, x.Clock.RTTMs/2)
	}
	return hs, nil
}

// close stops what runs on the hosts and removes what was shipped.
func (hs *hosts) close(stderr io.Writer) {
	if hs == nil {
		return
	}
	for _, x := range append([]*remote.Host{hs.server}, hs.load...) {
		if x != nil {
			if err := x.Close(); err != nil {
				fmt.Fprintf(stderr, "bench run: %v\n", err)
			}
		}
	}
}

// hostCPUs is the CPUs bench serve --cpus may take on x (its cpuset's),
// not 0 to nproc-1, which a cpuset such as 4-7 makes wrong; a bench too
// old to say is taken to have them all.
func hostCPUs(x *remote.Host) []int {
	if len(x.Machine.CPUList) > 0 {
		return x.Machine.CPUList
	}
	all := make([]int, x.Machine.CPUs)
	for i := range all {
		all[i] = i
	}
	return all
}

// apply sends the suite's servers and load to the hosts.
func (hs *hosts) apply(o *suite.Options, loadgenCPUs string, stderr io.Writer) {
	if hs == nil {
		return
	}
	if hs.server != nil {
		o.Serve = func(args ...string) *exec.Cmd { return hs.server.Command(args...) }
		o.ServerHost = hs.server.Address // an ssh-config alias's HostName: the alias means nothing to HTTP
		o.ReadServer = func(ctx context.Context) (suite.ServerReading, error) {
			st, err := hs.server.ServerStats(ctx)
			return suite.ServerReading{CPU: st.CPU, MasterCPU: st.MasterCPU, PeakRSS: st.RSS, Procs: st.Procs}, err
		}
	}
	if len(hs.load) > 0 {
		var mu sync.Mutex
		fleet := &remote.Fleet{Hosts: hs.load, CPUs: loadgenCPUs, Warn: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "bench run: warning: %s\n", s)
		}}
		o.Generate = fleet.Generate
	}
}

// localLoad reports whether this machine sends the load.
func (hs *hosts) localLoad() bool { return hs == nil || len(hs.load) == 0 }

// env describes the hosts for results.json.
func (hs *hosts) env() []results.HostEnv {
	if hs == nil {
		return nil
	}
	var out []results.HostEnv
	add := func(x *remote.Host, role string) {
		out = append(out, results.HostEnv{Host: x.Spec.String(), Role: role, Hostname: x.Machine.Hostname, Arch: x.Machine.Arch,
			Kernel: x.Machine.Kernel, CPUModel: x.Machine.CPUModel, CPUs: x.Machine.CPUs, Bench: x.Bench, Shipped: x.Dir != "",
			ClockOffsetMs: x.Clock.OffsetMs, ClockRTTMs: x.Clock.RTTMs})
	}
	if hs.server != nil {
		add(hs.server, "server")
	}
	for _, x := range hs.load {
		add(x, "load")
	}
	return out
}
