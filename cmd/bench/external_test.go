package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/corebench/corebench/workload"
)

// externalEnv makes the test binary an external server of the user's,
// as `bench run --server` starts one: "primary" listens on --port and
// forks --workers workers that serve from its socket, so that only a
// measurement over the process tree sees their CPU; "mute" is one
// process that sends no X-Worker headers.
const externalEnv = "COREBENCH_TEST_EXTERNAL"

func externalServer(role string, args []string) int {
	flag := func(name, def string) string {
		for i, a := range args {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
		}
		return def
	}
	workers, _ := strconv.Atoi(flag("--workers", "1"))
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if role == "mute" {
		ln, err := net.Listen("tcp", "127.0.0.1:"+flag("--port", "0"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "mute:", err)
			return 1
		}
		go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
		<-term
		return 0
	}
	if role == "worker" {
		ln, err := net.FileListener(os.NewFile(3, "listener"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			return 1
		}
		slot, _ := strconv.Atoi(os.Getenv("SLOT"))
		srv := &http.Server{Handler: workload.New(workload.Config{Slot: slot, About: func(context.Context) (workload.About, error) {
			return workload.About{Model: "go-test", Workers: workers}, nil
		}})}
		go srv.Serve(ln)
		<-term
		srv.Shutdown(context.Background())
		return 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+flag("--port", "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "primary:", err)
		return 1
	}
	f, _ := ln.(*net.TCPListener).File()
	var ws []*exec.Cmd
	for i := range workers {
		w := exec.Command(os.Args[0])
		w.Args = append(w.Args, args...)
		w.Env = append(os.Environ(), externalEnv+"=worker", "SLOT="+strconv.Itoa(i))
		w.ExtraFiles, w.Stderr = []*os.File{f}, os.Stderr
		if err := w.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "primary:", err)
			return 1
		}
		ws = append(ws, w)
	}
	<-term
	for _, w := range ws {
		w.Process.Signal(syscall.SIGTERM)
		w.Wait()
	}
	return 0
}
