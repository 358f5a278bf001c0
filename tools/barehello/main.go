// Command barehello is the yardstick for the harness's own overhead: the
// plainest net/http "Hello, World!" server, GOMAXPROCS=1 unless told
// otherwise, optionally doing /cpu's SHA-256 work per request, or serving
// the workload's handler without the models' serving loop (to tell the
// harness's cost from the response's). docs/performance.md compares the
// models against it.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"

	"github.com/corebench/corebench/workload"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	work := flag.Int("work", 0, "SHA-256 rounds per request, like /cpu (0: plain hello)")
	headers := flag.Bool("headers", false, "send the workload's headers (Server, X-Worker, X-Worker-Pid) with the plain hello")
	handler := flag.Bool("workload", false, "serve the workload's handler (same responses as bench serve) on plain net/http, without the models' serving loop")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	body := []byte("Hello, World!")
	if *handler {
		log.Fatal(http.Serve(ln, workload.New(workload.Config{})))
	}
	server, worker, pid := []string{"corebench"}, []string{"0"}, []string{strconv.Itoa(os.Getpid())}
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if *headers {
			h := w.Header()
			h["Server"], h["X-Worker"], h["X-Worker-Pid"] = server, worker, pid
		}
		if *work > 0 {
			d := sha256.Sum256(body)
			for range *work {
				d = sha256.Sum256(d[:])
			}
			fmt.Fprintf(w, "%x\n", d)
			return
		}
		w.Write(body)
	})))
}
