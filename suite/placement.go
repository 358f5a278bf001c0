package suite

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/results"
)

// Where is what a run was told about where its servers and its load
// generator run: CPU lists (--server-cpus, --loadgen-cpus) and the hosts
// each side runs on, if not this machine.
type Where struct {
	// ServerCPUs and LoadgenCPUs are the lists as given, nil when not:
	// CPUs of the host that side runs on.
	ServerCPUs, LoadgenCPUs []int
	// Sysfs plans for the machine in this /sys-like tree instead of this
	// one (a dry run); "" reads this machine.
	Sysfs string
	// ServerHost runs the servers; nil: this machine.
	ServerHost *Host
	// LoadHosts send the load; none: this machine.
	LoadHosts []Host
}

// A Host is another machine and the CPUs a process there may use (its
// cpuset's, as bench cpus there reads them). CPUs is nil for a host not
// contacted (a dry run, or the check before dialling): the plan then
// uses this machine's CPUs, and a list for that host is checked once it
// answers.
type Host struct {
	Name string
	CPUs []int
}

// reached reports whether every host named has answered.
func (w Where) reached() bool {
	if w.ServerHost != nil && w.ServerHost.CPUs == nil {
		return false
	}
	for _, h := range w.LoadHosts {
		if h.CPUs == nil {
			return false
		}
	}
	return true
}

// A UsageError is a placement asked for that cannot be: a CPU the
// process may not use, or one the machine lacks.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usage(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// Locate decides where a run's servers and generator go, local or remote,
// and returns the topology it planned on (this machine's, or --sysfs's).
// On this machine the lists may name any CPU of this process's cpuset,
// not only of the mask it was started with; on another, any CPU that
// host's bench may use. The local case is Place; with hosts, each side
// takes its host's CPUs (all of them unless listed), and nothing is shared.
func Locate(w Where) (results.Placement, *topology.Topology, error) {
	var allowed, available []int // with Sysfs, every online CPU of that tree
	if w.Sysfs == "" {
		var err error
		if allowed, err = affinity.Allowed(); err != nil {
			return results.Placement{}, nil, err
		}
		if available, err = affinity.Available(); err != nil {
			return results.Placement{}, nil, err
		}
	}
	// The lists that name this machine's CPUs.
	remoteServer, remoteLoad := w.ServerHost != nil, len(w.LoadHosts) > 0
	var lists [2][]int
	for i, side := range []struct {
		flag   string
		cpus   []int
		remote bool
	}{{"--server-cpus", w.ServerCPUs, remoteServer}, {"--loadgen-cpus", w.LoadgenCPUs, remoteLoad}} {
		if side.cpus == nil || side.remote {
			continue
		}
		if w.Sysfs == "" {
			if err := affinity.Check(side.cpus, available); err != nil {
				return results.Placement{}, nil, usage("%s: %v", side.flag, err)
			}
		}
		lists[i] = side.cpus
	}
	// The topology covers what the lists name and, for a side they leave
	// out, the CPUs this process may run on.
	read := allowed
	if w.Sysfs == "" {
		switch {
		case lists[0] != nil && lists[1] != nil:
			read = append(slices.Clone(lists[0]), lists[1]...)
		case lists[0] != nil || lists[1] != nil:
			read = append(slices.Clone(allowed), append(lists[0], lists[1]...)...)
		}
		slices.Sort(read)
		read = slices.Compact(read)
	}
	topo, err := topology.Read(cmp.Or(w.Sysfs, topology.DefaultRoot), read)
	if err != nil {
		return results.Placement{}, nil, fmt.Errorf("--sysfs: %v", err)
	}
	for i, flag := range []string{"--server-cpus", "--loadgen-cpus"} {
		for _, c := range lists[i] {
			if topo.Node(c) < 0 {
				return results.Placement{}, nil, usage("%s: CPU %d is not on the machine in --sysfs %s (its CPUs are %s)", flag, c, w.Sysfs, affinity.Format(topo.IDs()))
			}
		}
	}
	if !remoteServer && !remoteLoad || !w.reached() {
		place := Place(topo, lists[0], lists[1])
		if remoteServer || remoteLoad {
			place.Note += "; --dry-run contacts no host: this plans with this machine's CPUs, not theirs"
		}
		return place, topo, nil
	}
	place, err := w.remote(allowed)
	return place, topo, err
}

// remote places with hosts: the servers' CPUs are those of the server
// host, the generator's those of each load host (bench attack --cpus
// there); a side left here takes this process's CPUs.
func (w Where) remote(allowed []int) (results.Placement, error) {
	onHost := func(flag string, list []int, h Host) ([]int, error) {
		if list == nil {
			return h.CPUs, nil
		}
		if err := affinity.Check(list, h.CPUs); err != nil {
			return nil, usage("%s on %s: %v", flag, h.Name, err)
		}
		return list, nil
	}
	var place results.Placement
	var notes []string
	if w.ServerHost != nil {
		cpus, err := onHost("--server-cpus", w.ServerCPUs, *w.ServerHost)
		if err != nil {
			return place, err
		}
		place.ServerCPUs = cpus
		notes = append(notes, fmt.Sprintf("servers on %s (CPUs %s)", w.ServerHost.Name, affinity.Format(cpus)))
		if len(w.LoadHosts) == 0 { // the load from here, on every CPU unless told
			place.LoadgenCPUs = orAll(w.LoadgenCPUs, allowed)
			notes = append(notes, "load from this machine (CPUs "+affinity.Format(place.LoadgenCPUs)+")")
		}
	} else {
		place.ServerCPUs = orAll(w.ServerCPUs, allowed) // the load is elsewhere: every CPU here is the servers'
		notes = append(notes, "servers on this machine (CPUs "+affinity.Format(place.ServerCPUs)+")")
	}
	if len(w.LoadHosts) > 0 {
		var names []string
		for _, h := range w.LoadHosts {
			if _, err := onHost("--loadgen-cpus", w.LoadgenCPUs, h); err != nil {
				return place, err
			}
			names = append(names, h.Name)
		}
		place.LoadgenCPUs = w.LoadgenCPUs
		there := "all"
		if w.LoadgenCPUs != nil {
			there = affinity.Format(w.LoadgenCPUs)
		}
		notes = append(notes, "load from "+strings.Join(names, ", ")+" (CPUs "+there+" there)")
	}
	place.Note = strings.Join(notes, "; ")
	return place, nil
}

// orAll is list, or every CPU when none was given.
func orAll(list, all []int) []int {
	if list == nil {
		return all
	}
	return list
}
