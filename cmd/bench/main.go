// Command bench serves the workload under three concurrency models, loads
// it, and reports how each one uses a many-core machine.
package main

import "os"

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }
