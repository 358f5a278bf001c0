// Command barehello is the yardstick for the harness's own overhead: the
// plainest net/http "Hello, World!" server, GOMAXPROCS=1 unless told
// otherwise. docs/performance.md compares `bench serve --model singlecore`
// against it on the same pinned core.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	body := []byte("Hello, World!")
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})))
}
