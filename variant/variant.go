// Package variant is the vocabulary of the servers a run compares: each
// built-in Variant (a model of `bench serve` and, for prefork, its
// scheduler), in the order every table and chart shows them, with its
// name, its rank and its serve line; and an external server of `bench run
// --server NAME=COMMAND`, with its placeholders. results.json names a
// variant by its Name, a plain string, so older files and servers this
// package does not know still read.
//
// It imports nothing of the module: the report gives each variant its
// colour and marker, the suite turns one into a process.
package variant

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Variant is one server a run compares: a model and, for prefork, its
// scheduler, as `bench serve` starts it. Its Name is what results,
// charts and flags call it. An external server (a Node.js cluster, say)
// is a Variant with a Name and no Model: it has no serve line, and the
// charts draw it in a neutral colour.
//
// Adding a built-in variant is one entry in the table below plus its
// implementation behind `bench serve`, and its colour and marker in the
// report's palette (a test there checks every variant has them); every
// package takes the rest (names, order, serve line) from here.
type Variant struct {
	Name  string // in results, charts and flags, e.g. "prefork-rr"
	Model string // `bench serve --model`; "" for an external server
	Sched string // `bench serve --sched`; "" for a one-process model
	// Command is an external server's shell command, with {port},
	// {workers} and {cpus} for the suite to fill in; Ready, when set, is a
	// regular expression for the stdout line that says it is ready (else
	// it is ready when its port accepts a connection).
	Command, Ready string
}

// The placeholders of an external server's Command.
const (
	PlaceholderPort    = "{port}"
	PlaceholderWorkers = "{workers}"
	PlaceholderCPUs    = "{cpus}"
)

var serverNameRe = regexp.MustCompile(`^[a-z0-9._-]+$`)

// ParseServer parses an external server as `bench run --server` gives
// it, NAME=COMMAND: NAME is lower-case letters, digits, '.', '_' and '-',
// and no built-in variant's; COMMAND runs through /bin/sh -c.
func ParseServer(spec string) (Variant, error) {
	name, command, ok := strings.Cut(spec, "=")
	name, command = strings.TrimSpace(name), strings.TrimSpace(command)
	switch {
	case !ok || command == "":
		return Variant{}, fmt.Errorf("%q: want NAME=COMMAND, e.g. node=\"node server.js --port {port}\"", spec)
	case name == "":
		return Variant{}, fmt.Errorf("%q: the server has no NAME before the =", spec)
	case !serverNameRe.MatchString(name):
		return Variant{}, fmt.Errorf("name %q: use lower-case letters, digits, '.', '_' and '-'", name)
	}
	if _, ok := Lookup(name); ok {
		return Variant{}, fmt.Errorf("name %q is a built-in model: give yours another name", name)
	}
	return Variant{Name: name, Command: command}, nil
}

// ParseReady sets the readiness pattern of the server in servers that
// spec, NAME=REGEXP (`bench run --ready`), names.
func ParseReady(servers []Variant, spec string) error {
	name, re, ok := strings.Cut(spec, "=")
	if !ok || re == "" {
		return fmt.Errorf("%q: want NAME=REGEXP, e.g. node='listening'", spec)
	}
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	for i := range servers {
		if servers[i].Name == name {
			servers[i].Ready = re
			return nil
		}
	}
	return fmt.Errorf("%q names no --server", name)
}

// TakesWorkers reports whether v can be told how many workers to run: a
// built-in multi-worker model, or an external command with {workers}.
func (v Variant) TakesWorkers() bool {
	if v.External() {
		return strings.Contains(v.Command, PlaceholderWorkers)
	}
	return !v.OneWorker()
}

// Expand returns an external server's command with its placeholders
// filled in: the port, the workers and the CPU list.
func (v Variant) Expand(port, workers int, cpus string) string {
	return strings.NewReplacer(PlaceholderPort, strconv.Itoa(port), PlaceholderWorkers, strconv.Itoa(workers),
		PlaceholderCPUs, cpus).Replace(v.Command)
}

// The models of `bench serve --model`, as models.SingleCore etc. name
// them (variant imports no package of the module; cmd/bench's tests
// check that serve accepts every variant's serve line).
const (
	modelSingleCore = "singlecore"
	modelGoroutines = "goroutines"
	modelPrefork    = "prefork"
)

// The built-in variants.
var (
	SingleCore       = Variant{Name: "singlecore", Model: modelSingleCore}
	Goroutines       = Variant{Name: "goroutines", Model: modelGoroutines}
	PreforkRR        = Variant{Name: "prefork-rr", Model: modelPrefork, Sched: "rr"}
	PreforkOS        = Variant{Name: "prefork-os", Model: modelPrefork, Sched: "os"}
	PreforkReusePort = Variant{Name: "prefork-reuseport", Model: modelPrefork, Sched: "reuseport"}
	PreforkSticky    = Variant{Name: "prefork-sticky", Model: modelPrefork, Sched: "sticky"}
)

// variants is the table: every built-in variant, in the order every
// table and chart shows them.
var variants = []Variant{SingleCore, Goroutines, PreforkRR, PreforkOS, PreforkReusePort, PreforkSticky}

// All returns every built-in variant in display order.
func All() []Variant { return slices.Clone(variants) }

// Names returns the names of vs.
func Names(vs []Variant) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}

// Lookup returns the built-in variant called name.
func Lookup(name string) (Variant, bool) {
	i := slices.IndexFunc(variants, func(v Variant) bool { return v.Name == name })
	if i < 0 {
		return Variant{}, false
	}
	return variants[i], true
}

// Parse returns the built-in variant called name, or an error that lists
// the valid names.
func Parse(name string) (Variant, error) {
	if v, ok := Lookup(name); ok {
		return v, nil
	}
	names := Names(variants)
	return Variant{}, fmt.Errorf("unknown model %q: want %s or %s", name,
		strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// Rank is where the variant called name comes in display order: built-in
// variants by the table, any other after them all.
func Rank(name string) int {
	if i := slices.IndexFunc(variants, func(v Variant) bool { return v.Name == name }); i >= 0 {
		return i
	}
	return len(variants)
}

func (v Variant) String() string { return v.Name }

// External reports whether v is a server bench does not start itself.
func (v Variant) External() bool { return v.Model == "" }

// Prefork reports whether v is a master with worker processes: it has a
// control socket, and can reload and scale while serving.
func (v Variant) Prefork() bool { return v.Model == modelPrefork }

// OneProcess reports whether v serves from a single process (whatever
// its GOMAXPROCS), so requests have no workers to be spread over.
func (v Variant) OneProcess() bool { return v.Model == modelSingleCore || v.Model == modelGoroutines }

// OneWorker reports whether v runs one worker on one CPU whatever it is
// asked for: singlecore, the baseline of every speed-up.
func (v Variant) OneWorker() bool { return v.Model == modelSingleCore }

// Workers is how many workers v runs when asked for n: 0 (unknown) for
// an external server that is not told.
func (v Variant) Workers(n int) int {
	switch {
	case v.OneWorker():
		return 1
	case !v.TakesWorkers():
		return 0
	}
	return n
}

// ServeArgs returns the `bench serve` flags that start v with workers
// workers (processes for prefork, GOMAXPROCS for goroutines; singlecore
// takes none); nil for an external server. The caller adds the address
// and the rest.
func (v Variant) ServeArgs(workers int) []string {
	if v.External() {
		return nil
	}
	args := []string{"--model", v.Model}
	if v.Sched != "" {
		args = append(args, "--sched", v.Sched)
	}
	if !v.OneWorker() {
		args = append(args, "--workers", strconv.Itoa(workers))
	}
	return args
}
