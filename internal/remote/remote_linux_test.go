package remote

import (
	"context"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/sshdtest"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/models/prefork/control"
)

// TestServerStatsPerProcess: a remote server's CPU is counted process by
// process, as the suite counts a local one: a worker killed and
// restarted between two readings takes none of the CPU it had used away
// (read as totals, the second reading was lower than the first).
func TestServerStatsPerProcess(t *testing.T) {
	srv := sshdtest.Start(t, "127.0.0.1")
	exe := buildBench(t)
	h, err := Dial(context.Background(), "root@127.0.0.1:"+srv.Port, Options{SSH: srv.SSH, Exe: exe})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s := modeltest.Start(t, h.Command("serve", "--model", "prefork", "--sched", "rr", "--workers", "2", "--addr", "127.0.0.1:0"))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) int {
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pid, _ := strconv.Atoi(resp.Header.Get("X-Worker-Pid"))
		return pid
	}
	// Each worker in turn (rr) takes a few ticks of CPU.
	victim := get("/cpu?n=100000")
	for i := 0; ; i++ {
		if cpu, _ := proc.CPUSecondsOf(victim); cpu >= 0.1 {
			break
		}
		if i == 1000 {
			t.Fatalf("worker pid %d used no 0.1 s of CPU in 1000 requests of /cpu", victim)
		}
		get("/cpu?n=100000")
	}
	before, err := h.ServerStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if before.Procs != 3 || before.CPU < 0.1 {
		t.Fatalf("before: %+v; want 3 processes and the workers' CPU", before)
	}
	// The master restarts it: its events say when (the control socket is
	// on this machine too).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := (control.Client{Path: s.Info["control"]}).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	syscall.Kill(victim, syscall.SIGKILL)
	if _, err := events.Next(ctx, func(e control.Event) bool { return e.Kind == control.EventOnline && e.PID != victim }); err != nil {
		t.Fatalf("the killed worker was not replaced: %v", err)
	}
	after, err := h.ServerStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.Procs != 3 || after.CPU < before.CPU || after.MasterCPU < before.MasterCPU {
		t.Errorf("before the restart %+v, after %+v; want 3 processes and no CPU taken away", before, after)
	}
}
