package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
)

// attackTarget is a server that counts requests and answers from worker
// n%2. It is not a corebench server: the discovery request before a run
// gets a 404 and is not counted.
func attackTarget(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == loadgen.DiscoverPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Worker", strconv.FormatInt(n.Add(1)%2, 10))
		w.Write([]byte("hello"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// oneLine reports whether s is exactly one non-empty line.
func oneLine(s string) bool {
	return strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1 && len(strings.TrimSpace(s)) > 0
}

// TestAttackJSON: --json prints one line, the summary, with the fields
// of the CLI contract, and counts what the server served.
func TestAttackJSON(t *testing.T) {
	srv, served := attackTarget(t)
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "300ms", "--json"))
	if st != 0 || stderr != "" || !oneLine(stdout) {
		t.Fatalf("status %d, stderr %q, stdout %q: want status 0, one line on stdout, nothing on stderr", st, stderr, stdout)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"requests", "errors", "rps", "duration_s", "wait_s", "wait_requests", "wait_errors", "latency_ms", "status_codes", "per_worker", "fairness", "late", "loadgen_cpu_s", "saturated", "machine_cpu_busy", "loadgen_cpus"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("no %q in the JSON summary", k)
		}
	}
	var lat map[string]float64
	json.Unmarshal(fields["latency_ms"], &lat)
	for _, k := range []string{"min", "mean", "p50", "p90", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("no latency_ms.%s", k)
		}
	}
	var s results.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Requests == 0 || s.Requests != served.Load() || s.StatusCodes["200"] != s.Requests || len(s.PerWorker) != 2 {
		t.Errorf("requests %d (server %d), status %v, per worker %v", s.Requests, served.Load(), s.StatusCodes, s.PerWorker)
	}
	// The server and the generator kept at least one CPU partly busy.
	if len(s.MachineCPU) < runtime.NumCPU() || slices.Max(s.MachineCPU) <= 0 || slices.Max(s.MachineCPU) > 1 {
		t.Errorf("machine_cpu_busy %v", s.MachineCPU)
	}
}

// TestAttackTable: without --json, the table.
func TestAttackTable(t *testing.T) {
	srv, _ := attackTarget(t)
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "200ms", "--rate", "500"))
	if st != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	for _, want := range []string{"Latency", "p99.9", "Req/s", "Bytes/s", "requests in", "Status     200: ", "Errors     none", "Workers    2 workers answered; how many the server runs is unknown", "Late       ", "open loop at 500/s", "Generator  ", "CPUs busy  cpu0 "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
}

// TestAttackShareRate: --rate N% probes with a closed loop first (a
// warm-up, then the measure), says
// on stderr what it measured and what the rate came to, records both in
// the JSON summary, and attacks at that share; a ramp's ends are shares
// too.
func TestAttackShareRate(t *testing.T) {
	srv, served := attackTarget(t)
	for _, rate := range []string{"50%", "20%:60%"} {
		st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "300ms", "--probe", "200ms", "--rate", rate, "--json"))
		if st != 0 || !oneLine(stdout) || strings.Count(stderr, "probe: ") != 2 {
			t.Fatalf("--rate %s: status %d, stderr %q, stdout %q", rate, st, stderr, stdout)
		}
		var s struct {
			results.Summary
			Probe struct {
				Rate, Resolved   string
				RPS              float64
				Connections      int
				Requests, Errors int64
			}
		}
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		p := s.Probe
		var want []string
		for _, share := range strings.Split(rate, ":") {
			f, _ := strconv.ParseFloat(strings.TrimSuffix(share, "%"), 64)
			want = append(want, strconv.Itoa(int(f/100*p.RPS+0.5)))
		}
		if p.Rate != rate || p.RPS <= 0 || p.Connections != 2 || p.Errors != 0 || p.Resolved != strings.Join(want, ":") {
			t.Errorf("--rate %s: probe %+v, want resolved %s", rate, p, strings.Join(want, ":"))
		}
		if s.Mode != results.ModeOpen || !strings.Contains(s.Rate, "("+rate+" of ") || !strings.Contains(stderr, "--rate "+rate+" of it is --rate "+p.Resolved) {
			t.Errorf("--rate %s: mode %s, rate %q, stderr %q", rate, s.Mode, s.Rate, stderr)
		}
		// The probe's warm-up is not in its count.
		if got := served.Swap(0); got <= p.Requests+s.Requests {
			t.Errorf("--rate %s: the server answered %d, the probe %d after its warm-up and the attack %d", rate, got, p.Requests, s.Requests)
		}
	}
	// No server: the probe's error, before any attack.
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", "http://127.0.0.1:9/", "--rate", "80%", "--probe", "100ms"))
	if st != 1 || stdout != "" || !strings.Contains(stderr, "is the server running") {
		t.Errorf("no server: status %d, stdout %q, stderr %q", st, stdout, stderr)
	}
}

// TestAttackPipeline: --pipeline N is in the JSON summary and the table,
// and every request the server answered is counted once.
func TestAttackPipeline(t *testing.T) {
	srv, served := attackTarget(t)
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "300ms", "--pipeline", "4", "--json"))
	if st != 0 || stderr != "" || !oneLine(stdout) {
		t.Fatalf("status %d, stderr %q, stdout %q", st, stderr, stdout)
	}
	var s results.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Pipeline != 4 || s.Requests == 0 || s.Errors != 0 || s.Requests != served.Load() {
		t.Errorf("pipeline %d, requests %d, errors %d; the server answered %d", s.Pipeline, s.Requests, s.Errors, served.Load())
	}
	st, stdout, stderr = modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "200ms", "--pipeline", "4", "--rate", "500"))
	if st != 0 || stderr != "" || !strings.Contains(stdout, "keep-alive, pipelined, 4 requests in flight per connection") {
		t.Errorf("status %d, stderr %q, table:\n%s", st, stderr, stdout)
	}
}

// TestAttackUsage: bad command lines are one-line usage errors, status 2.
func TestAttackUsage(t *testing.T) {
	const u = "http://127.0.0.1:9/"
	for _, args := range [][]string{
		{"attack"},
		{"attack", u, u},
		{"attack", "ftp://127.0.0.1/"},
		{"attack", "127.0.0.1:8080"},
		{"attack", "http://"},
		{"attack", "http://127.0.0.1:99999/"},
		{"attack", "http://%zz/"},
		{"attack", u, "-c", "0"},
		{"attack", u, "-c", "-3"},
		{"attack", u, "-d", "0s"},
		{"attack", u, "--rate", "0"},
		{"attack", u, "--rate", "-5"},
		{"attack", u, "--rate", "fast"},
		{"attack", u, "--rate", "5:x"},
		{"attack", u, "--rate", "0:100"},
		{"attack", u, "--rate", "sine:100:200:1s"},
		{"attack", u, "--rate", "sine:100:20"},
		{"attack", u, "--rate", "0%"},
		{"attack", u, "--rate", "1001%"},
		{"attack", u, "--rate", "80%%"},
		{"attack", u, "--rate", "%"},
		{"attack", u, "--rate", "50%/1s"},
		{"attack", u, "--rate", "50%:x"},
		{"attack", u, "--rate", "sine:20%:80%:1s"},
		{"attack", u, "--rate", "80%", "--probe", "0s"},
		{"attack", u, "--rate", "80%", "--segment", "1/2"},
		{"attack", u, "--rate", "80%", "-d", "0s"},
		{"attack", u, "--engine", "wrk"},
		{"attack", "https://127.0.0.1:9/", "--engine", "fast"},
		{"attack", u, "--engine", "fast", "--http2"},
		{"attack", u, "--output-format", "xml", "--output", filepath.Join(t.TempDir(), "x")},
		{"attack", u, "-H", "NoColon"},
		{"attack", u, "-H", "Bad Name: x"},
		{"attack", u, "-m", "GE T"},
		{"attack", u, "--max-body", "0"},
		{"attack", u, "--max-body", "lots"},
		{"attack", u, "--timeout", "0s"},
		{"attack", u, "--cpus", "4000"},
		{"attack", u, "--body", "@/nonexistent/body"},
		{"attack", u, "--bogus"},
		{"attack", u, "--pipeline", "0"},
		{"attack", u, "--pipeline", "-2"},
		{"attack", u, "--pipeline", "4", "--engine", "vegeta"},
		{"attack", "https://127.0.0.1:9/", "--pipeline", "4"},
		{"attack", u, "--pipeline", "4", "--no-keepalive"},
		{"attack", u, "--segment", "0/3"},
		{"attack", u, "--segment", "4/3"},
		{"attack", u, "--segment", "2"},
		{"attack", u, "--segment", "1/3", "-c", "2"},
		{"attack", u, "--start-at", "tomorrow"},
		{"attack", u, "--start-at", "2020-01-01T00:00:00Z"},
		{"attack", u, "--rate", "1/1h", "-d", "1s"},           // no request within the duration
		{"attack", u, "--rate", "sine:1:0:1h", "-d", "500ms"}, // the first is due at 1 s
		{"report"},
	} {
		st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
		if st != 2 || stdout != "" || !oneLine(stderr) {
			t.Errorf("bench %s: status %d, stdout %q, stderr %q; want status 2 and one line on stderr", strings.Join(args, " "), st, stdout, stderr)
		}
	}
}

// TestAttackSegmentStartAt: --segment and --start-at are recorded in the
// JSON summary and in every --output result; the run starts no earlier
// than its start time.
func TestAttackSegmentStartAt(t *testing.T) {
	srv, served := attackTarget(t)
	out := filepath.Join(t.TempDir(), "seg.bin")
	at := time.Now().Add(time.Second).UTC()
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "--rate", "300", "-d", "200ms", "--segment", "2/3",
		"--start-at", at.Format(time.RFC3339Nano), "--json", "--output", out))
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	var s results.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	// 60 hits in 200 ms at 300/s; the second of three segments sends 20.
	if s.Segment != "2/3" || s.StartAt == nil || !s.StartAt.Equal(at) || s.Start.Before(at) || s.Requests+s.Unsent != 20 || served.Load() != s.Requests {
		t.Errorf("segment %q, start_at %v, start %v (want not before %v), %d requests + %d unsent (want 20), server %d", s.Segment, s.StartAt, s.Start, at, s.Requests, s.Unsent, served.Load())
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	dec := vegeta.DecoderFor(fh)
	var r vegeta.Result
	if dec == nil || dec.Decode(&r) != nil || r.Attack != "segment 2/3" || r.Timestamp.Before(at) {
		t.Errorf("first --output result: attack %q at %v, want \"segment 2/3\" not before %v", r.Attack, r.Timestamp, at)
	}
}

// TestAttackUnreachable: nothing listens: one line, status 1, at once.
func TestAttackUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, engine := range []string{"fast", "vegeta"} {
		st, stdout, stderr := modeltest.RunToExit(t, bench("attack", "http://"+addr+"/", "-d", "1m", "--engine", engine))
		want := "bench attack: cannot connect to " + addr + ": connection refused"
		if st != 1 || stdout != "" || !oneLine(stderr) || !strings.HasPrefix(stderr, want) {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want status 1 and %q", engine, st, stdout, stderr, want)
		}
	}
}

// TestAttackOutputAndReport: --output writes results vegeta reads back;
// bench report merges two files exactly.
func TestAttackOutputAndReport(t *testing.T) {
	srv, _ := attackTarget(t)
	dir := t.TempDir()
	var sums []results.Summary
	files := []string{filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.json"), filepath.Join(dir, "c.csv")}
	for i, f := range files {
		format := []string{"gob", "json", "csv"}[i]
		st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "200ms", "--json", "--output", f, "--output-format", format))
		if st != 0 {
			t.Fatalf("status %d, stderr %q", st, stderr)
		}
		var s results.Summary
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := vegeta.DecoderFor(fh)
		if dec == nil {
			t.Fatalf("%s: vegeta does not recognise the file", f)
		}
		var n int64
		for {
			var r vegeta.Result
			if dec.Decode(&r) != nil {
				break
			}
			n++
		}
		fh.Close()
		if n != s.Requests {
			t.Errorf("%s: %d results, summary says %d requests", f, n, s.Requests)
		}
	}
	st, stdout, stderr := modeltest.RunToExit(t, bench(append([]string{"report", "--json"}, files...)...))
	if st != 0 || !oneLine(stdout) {
		t.Fatalf("report: status %d, stderr %q", st, stderr)
	}
	var m results.Summary
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	var want, want0 int64
	for _, s := range sums {
		want += s.Requests
		want0 += s.PerWorker["0"]
	}
	if m.Requests != want || m.StatusCodes["200"] != want || m.PerWorker["0"] != want0 || m.Histogram.Count() != uint64(want) {
		t.Errorf("merged %d requests, %v, %v; want %d, worker 0 %d", m.Requests, m.StatusCodes, m.PerWorker, want, want0)
	}
	st, stdout, _ = modeltest.RunToExit(t, bench("report", files[0]))
	if st != 0 || !strings.Contains(stdout, "requests in") {
		t.Errorf("report table: status %d, stdout %q", st, stdout)
	}

	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not results\n"), 0o644)
	for _, args := range [][]string{{"report", garbage}, {"report", dir}, {"report", filepath.Join(dir, "missing")}} {
		st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
		if st != 1 || stdout != "" || !oneLine(stderr) {
			t.Errorf("bench %s: status %d, stdout %q, stderr %q; want status 1 and one line", strings.Join(args, " "), st, stdout, stderr)
		}
	}
}

// TestAttackHelp: --help shows the examples, status 0.
func TestAttackHelp(t *testing.T) {
	st, stdout, _ := modeltest.RunToExit(t, bench("attack", "--help"))
	if st != 0 || !strings.Contains(stdout, "bench attack URL --rate 1000:20000 -d 60s") || !strings.Contains(stdout, "--no-keepalive") {
		t.Errorf("status %d, help:\n%s", st, stdout)
	}
}

// TestReportMergesSegments: three segments' --json summaries, and their
// --output files, merge into one summary whose counts are the sums of
// the parts', with a row per part; a missing segment is warned about.
func TestReportMergesSegments(t *testing.T) {
	srv, served := attackTarget(t)
	dir := t.TempDir()
	var sums, bins []string
	var want int64
	for i := 1; i <= 3; i++ {
		sum, bin := filepath.Join(dir, itoa(i)+".json"), filepath.Join(dir, itoa(i)+".bin")
		st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "--rate", "600", "-d", "200ms", "--segment", itoa(i)+"/3", "--json", "--output", bin))
		if st != 0 {
			t.Fatalf("segment %d: status %d, stderr %q", i, st, stderr)
		}
		os.WriteFile(sum, []byte(stdout), 0o644)
		var s results.Summary
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		want += s.Requests
		sums, bins = append(sums, sum), append(bins, bin)
	}
	if want != served.Load() {
		t.Fatalf("segments counted %d requests, the server %d", want, served.Load())
	}
	for _, files := range [][]string{sums, bins, {sums[0], bins[1], sums[2]}} {
		st, stdout, stderr := modeltest.RunToExit(t, bench(append([]string{"report", "--json"}, files...)...))
		if st != 0 || !oneLine(stdout) || stderr != "" {
			t.Fatalf("report %v: status %d, stderr %q", files, st, stderr)
		}
		var m results.Summary
		if err := json.Unmarshal([]byte(stdout), &m); err != nil {
			t.Fatal(err)
		}
		var rows int64
		for _, h := range m.LoadHosts {
			rows += h.Requests
		}
		if m.Requests != want || m.Histogram.Count() != uint64(want) || len(m.LoadHosts) != 3 || rows != want || m.LoadHosts[1].Segment != "2/3" {
			t.Errorf("report %v: %d requests (histogram %d), %d rows adding up to %d, %+v; want %d", files, m.Requests, m.Histogram.Count(), len(m.LoadHosts), rows, m.LoadHosts, want)
		}
	}
	st, stdout, stderr := modeltest.RunToExit(t, bench("report", sums[0], sums[2]))
	if st != 0 || !strings.Contains(stdout, "Load host") || !strings.Contains(stderr, "segment 2/3 missing") {
		t.Errorf("report without segment 2: status %d, stdout %q, stderr %q", st, stdout, stderr)
	}
}
