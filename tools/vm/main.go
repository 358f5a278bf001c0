// Command vm boots a throwaway VM of the shape its flags give (see
// internal/vmtest), runs a shell script in it with a static bench built
// from this tree on PATH, and exits with the script's status. The files
// the script writes in its working directory, /work, land in -dir.
//
//	tools/vm/kernel.sh   # once: Debian's kernel, unpacked
//	go run ./tools/vm -sockets 2 -cores 4 -threads 2 -nodes 2 -dir /tmp/vm script.sh
//	echo 'bench run --profile smoke' | go run ./tools/vm -cores 4 -
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/corebench/corebench/internal/vmtest"
)

func main() {
	var o vmtest.Options
	flag.IntVar(&o.Sockets, "sockets", 1, "sockets")
	flag.IntVar(&o.Cores, "cores", 4, "cores per socket")
	flag.IntVar(&o.Threads, "threads", 1, "threads per core")
	flag.IntVar(&o.Nodes, "nodes", 1, "NUMA nodes (the CPUs split evenly)")
	flag.IntVar(&o.MemoryMB, "mem", 2048, "memory in MiB")
	flag.StringVar(&o.Dir, "dir", "", "host directory shared as the guest's /work (default: a new temporary one)")
	flag.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "bound on the boot and the script")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./tools/vm [flags] SCRIPT|-")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var script []byte
	var err error
	if flag.Arg(0) == "-" {
		script, err = io.ReadAll(os.Stdin)
	} else {
		script, err = os.ReadFile(flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		os.Exit(2)
	}
	o.Script = string(script)
	o.Output = func(line string) { fmt.Println(line) }
	if o.Bench, err = vmtest.BuildBench(); err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		os.Exit(1)
	}
	defer vmtest.Cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := vmtest.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		vmtest.Cleanup()
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "vm: %s under %s: exit %d in %v; files in %s\n", o.Shape, r.Accel, r.Status, r.Elapsed.Round(time.Second), r.Dir)
	vmtest.Cleanup()
	os.Exit(r.Status)
}
