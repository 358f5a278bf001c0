package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// lookups is how many times each user asks who they are after logging in.
const lookups = 4

// State shows per-process state breaking in a prefork-rr cluster, and the
// fixes: the master-held counter, sticky sessions, and a shared store.
// Zero fields take the defaults named.
type State struct {
	Workers  int           // of each server; default DefaultWorkers
	Duration time.Duration // a third of it, 2 s at most, is each counter's burst; default DefaultDuration
	Requests int           // sent to each counter; default DefaultRequests
	Users    int           // logging in, each from a loopback address of its own; default DefaultUsers
	// Store is a redis:// URL: the counter and sessions kept there too,
	// the production answer; none when empty.
	Store string
}

// The defaults of State.
const (
	DefaultRequests = 1000
	DefaultUsers    = 50
)

func (State) Name() string         { return "state" }
func (State) OwnServersOnly() bool { return true }

func (s State) withDefaults() State {
	s.Workers = orDefault(s.Workers, DefaultWorkers)
	s.Duration = orDefault(s.Duration, DefaultDuration)
	s.Requests = orDefault(s.Requests, DefaultRequests)
	s.Users = orDefault(s.Users, DefaultUsers)
	return s
}

// Check has nothing to refuse: every State runs.
func (s State) Check() error { return nil }

// Run counts and looks up sessions on a prefork-rr server, a sticky one
// and, with s.Store, one that keeps them there.
func (s State) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	s = s.withDefaults()
	return interruptible(ctx, 0, func() (*results.Scenario, error) { return s.run(ctx, env.withDefaults()) })
}

func (s State) run(ctx context.Context, env Env) (*results.Scenario, error) {
	st := &results.StateResult{Requests: s.Requests, Store: -1}
	r := &results.Scenario{Scenario: s.Name(), Model: variant.PreforkRR.Name, Workers: s.Workers, State: st}

	err := s.withServer(ctx, env, variant.PreforkRR, nil, func(url string) error {
		env.Log(fmt.Sprintf("%d requests to /counter and to /counter/shared, a new connection each", s.Requests))
		counts, err := countPerProcess(ctx, url, s.Requests)
		if err != nil {
			return err
		}
		st.PerProcess = counts
		if st.Shared, err = countShared(ctx, url, s.Requests); err != nil {
			return err
		}
		found, err := sessions(ctx, url, s.Users)
		if err != nil {
			return err
		}
		st.Sessions = append(st.Sessions, results.SessionCheck{Setup: results.SessionsInWorkers, Found: found, Lookups: s.Users * lookups})
		for _, c := range []results.CounterCost{{Setup: results.CounterPerProcess, Path: "/counter"}, {Setup: results.CounterInMaster, Path: "/counter/shared"}} {
			if c.RPS, c.P99, err = s.burst(ctx, env, url+c.Path); err != nil {
				return err
			}
			st.Costs = append(st.Costs, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.withServer(ctx, env, variant.PreforkSticky, nil, func(url string) error {
		found, err := sessions(ctx, url, s.Users)
		st.Sessions = append(st.Sessions, results.SessionCheck{Setup: results.SessionsSticky, Found: found, Lookups: s.Users * lookups})
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.Store == "" {
		r.Notes = append(r.Notes, "no --state store given: run a redis-server and pass --state redis://127.0.0.1:6379 to add the production answer")
		return r, nil
	}
	err = s.withServer(ctx, env, variant.PreforkRR, []string{"--state", s.Store}, func(url string) error {
		var err error
		if st.Store, err = countShared(ctx, url, s.Requests); err != nil {
			return err
		}
		found, err := sessions(ctx, url, s.Users)
		if err != nil {
			return err
		}
		st.Sessions = append(st.Sessions, results.SessionCheck{Setup: results.SessionsInStore, Found: found, Lookups: s.Users * lookups})
		c := results.CounterCost{Setup: results.CounterInStore, Path: "/counter/shared"}
		c.RPS, c.P99, err = s.burst(ctx, env, url+c.Path)
		st.Costs = append(st.Costs, c)
		return err
	})
	return r, err
}

// withServer runs f against a fresh server of v.
func (s State) withServer(ctx context.Context, env Env, v variant.Variant, extra []string, f func(url string) error) error {
	extra = append([]string{"--control", filepath.Join(env.Dir, v.Name+".sock")}, extra...)
	srv, err := env.start(ctx, v, s.Workers, "127.0.0.1:0", extra...)
	if err != nil {
		return err
	}
	defer srv.Stop()
	return f(srv.URL)
}

// fresh returns a client that opens a new connection for each request,
// from loopback address from (0: any), so the master schedules each one.
func fresh(from int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, byte(from/250), byte(10+from%250))}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
}

type counterReply struct {
	Value  int64 `json:"value"`
	Worker int   `json:"worker"`
	PID    int   `json:"pid"`
}

func getJSON(ctx context.Context, c *http.Client, url, cookie string, v any) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("%s: %q: %v", url, b, err)
		}
	}
	return resp, nil
}

// countPerProcess sends n requests to /counter and returns what each
// worker's own counter reached.
func countPerProcess(ctx context.Context, url string, n int) ([]results.WorkerCount, error) {
	c := fresh(0)
	last := map[int]results.WorkerCount{}
	for range n {
		var v counterReply
		if _, err := getJSON(ctx, c, url+"/counter", "", &v); err != nil {
			return nil, err
		}
		if v.Value > last[v.Worker].Count {
			last[v.Worker] = results.WorkerCount{Slot: v.Worker, PID: v.PID, Count: v.Value}
		}
	}
	var out []results.WorkerCount
	for _, w := range last {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out, nil
}

// countShared sends n requests to /counter/shared and returns the last
// value it answered.
func countShared(ctx context.Context, url string, n int) (int64, error) {
	c := fresh(0)
	var top int64
	for range n {
		var v counterReply
		if _, err := getJSON(ctx, c, url+"/counter/shared", "", &v); err != nil {
			return 0, err
		}
		top = max(top, v.Value)
	}
	return top, nil
}

// sessions logs users in, each from a loopback address of its own as
// different clients would come, then asks lookups times who they are on
// new connections; it returns how many lookups found the session.
func sessions(ctx context.Context, url string, users int) (int, error) {
	found := 0
	for u := range users {
		c := fresh(u + 1)
		resp, err := getJSON(ctx, c, url+"/session?user=user"+strconv.Itoa(u), "", nil)
		if err != nil {
			return 0, err
		}
		cookie, _, _ := strings.Cut(resp.Header.Get("Set-Cookie"), ";")
		for range lookups {
			r, err := getJSON(ctx, c, url+"/session/me", cookie, nil)
			if err != nil {
				return 0, err
			}
			if r.StatusCode == 200 {
				found++
			}
		}
	}
	return found, nil
}

// burst measures req/s and p99 of a short closed loop at url.
func (s State) burst(ctx context.Context, env Env, url string) (float64, float64, error) {
	sum, err := env.Generate(ctx, loadgen.Load{URL: url, Connections: 16, Duration: min(s.Duration/3, 2*time.Second)})
	if err != nil {
		return 0, 0, err
	}
	return sum.RPS, sum.Latency.P99, nil
}
