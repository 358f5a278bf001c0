package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/corebench/corebench/models/prefork"
)

// Exit statuses, part of the CLI contract.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// command is one `bench` subcommand.
type command struct {
	name     string
	summary  string
	usage    string // the synopsis after "bench "
	hidden   bool   // not in the help: for bench itself, on other hosts
	examples string
	run      func(c *cli, args []string) error
}

// cli carries what a command may touch of the outside world.
type cli struct {
	stdout, stderr io.Writer
	cmd            *command
	fs             *pflag.FlagSet // the command's flags, once it defined them
	// smoke runs the command at smoke scale: tiny durations, rates and
	// counts, servers that stop once ready, one refresh of top. Main sets
	// it from smokeFlag or smokeEnv, for this command only: the servers it
	// starts are not told, as a `bench serve` child of `bench run` that
	// stopped once ready would fail every case.
	smoke bool
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Main runs bench with args and returns the exit status. A re-executed
// prefork worker is recognised before anything else.
func Main(args []string, stdout, stderr io.Writer) int {
	if prefork.IsWorker() {
		return workerMain(stderr)
	}
	smoke := os.Getenv(smokeEnv) == "1"
	os.Unsetenv(smokeEnv) // not for the servers this command starts
	if len(args) > 0 && args[0] == smokeFlag {
		smoke, args = true, args[1:]
	}
	name := defaultCommand
	if len(args) > 0 {
		switch {
		case args[0] == "-h" || args[0] == "--help":
			printHelp(stdout)
			return exitOK
		case args[0] == "--version":
			fmt.Fprintln(stdout, versionLine())
			return exitOK
		case !strings.HasPrefix(args[0], "-"):
			name, args = args[0], args[1:]
		}
	}
	if name == "help" {
		if len(args) == 0 {
			printHelp(stdout)
			return exitOK
		}
		name, args = args[0], []string{"--help"}
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "bench: unknown command %q; run 'bench help' for the list\n", name)
		return exitUsage
	}
	cl := &cli{stdout: stdout, stderr: stderr, cmd: c, smoke: smoke}
	err := c.run(cl, args)
	var status exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status)
	case errors.Is(err, pflag.ErrHelp):
		c.printHelp(stdout, cl.fs)
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "bench %s: %v (see 'bench %s --help')\n", c.name, err, c.name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "bench %s: %v\n", c.name, err)
		return exitRuntime
	}
}

// flags returns the command's flag set; parse turns its errors into usage
// errors, and --help into pflag.ErrHelp, which Main answers with the help.
func (c *cli) flags() *pflag.FlagSet {
	c.fs = pflag.NewFlagSet(c.cmd.name, pflag.ContinueOnError)
	c.fs.SetOutput(io.Discard)
	c.fs.SortFlags = false
	return c.fs
}

// parse parses args into fs.
func (c *cli) parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// printHelp prints the command's synopsis, flags and examples.
func (c *command) printHelp(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  bench %s\n", c.summary, c.usage)
	if fs != nil {
		if u := fs.FlagUsages(); u != "" {
			fmt.Fprintf(w, "\nFlags:\n%s", u)
		}
	}
	if c.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(c.examples, "\n"))
	}
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `bench measures how a server should use a many-core machine: the same HTTP
handler served by one process on one core (singlecore), by a master and N
worker processes sharing a port (prefork, like Node's cluster module and PM2),
and by one multi-threaded process (goroutines), loaded by a built-in generator.

Usage:
  bench <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
'bench' alone runs '`+defaultCommand+`'. 'bench help COMMAND' or 'bench COMMAND --help' shows a
command's flags and examples. Exit status: 0 success, 1 runtime error, 2 usage error.
`)
}

// signalContext returns a context cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, func()) {
	return newSignalContext(os.Interrupt, syscall.SIGTERM)
}

// workerMain is main for a re-executed prefork worker. SIGINT is ignored:
// a Ctrl-C in the terminal reaches the whole process group, and the master
// decides how its workers stop.
func workerMain(stderr io.Writer) int {
	signal.Ignore(os.Interrupt)
	ctx, stop := newSignalContext(syscall.SIGTERM)
	defer stop()
	if err := prefork.RunWorker(ctx); err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// smokeFlag, before the command (bench --smoke run ...), runs it at
// smoke scale (cli.smoke). It is for the test that runs the documented
// commands, so help does not show it; a user has no need of it.
const smokeFlag = "--smoke"

// smokeEnv=1 does the same for the tools/ scripts, which run the
// documents' command lines as they are written.
const smokeEnv = "COREBENCH_SMOKE"

// defaultCommand is what `bench` alone runs.
const defaultCommand = "run"
