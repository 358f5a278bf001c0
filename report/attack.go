package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// AttackTable writes one load run's summary, as `bench attack` prints it,
// the way autocannon does: latency percentiles, req/s and bytes/s
// statistics, totals, then what went wrong and how the load was spread.
func AttackTable(out io.Writer, s *results.Summary) error {
	w := &errWriter{w: out}
	target := s.Target
	if s.Method != "" && s.Method != "GET" {
		target = s.Method + " " + target
	}
	fmt.Fprintf(w, "Target     %s\n", target)
	fmt.Fprintf(w, "Load       %s\n", loadLine(s))
	if s.Interrupted {
		fmt.Fprintf(w, "           interrupted: the figures cover the first %.2f s only\n", s.DurationS)
	}
	fmt.Fprintln(w)

	l := s.Latency
	lat := []string{"", "-", "-", "-", "-", "-", "-", "-", "-", "-"}
	if s.Histogram != nil && s.Histogram.Count() > 0 {
		b := func(name string, v float64) string { return bounded(l.LowerBounds, name, numfmt.Millis(v)) }
		lat = []string{"", b("min", l.Min), b("p50", l.P50), b("p90", l.P90), b("p99", l.P99), b("p999", l.P999), b("p9999", l.P9999), b("max", l.Max), b("mean", l.Mean), numfmt.Millis(l.Stdev)}
	}
	textTable(w, [][]string{{"Latency", "min", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean", "stdev"}, lat})
	if len(l.LowerBounds) > 0 {
		fmt.Fprintln(w, "           ≥: a lower bound; timed-out and unsent requests count at the time they were given up")
	}
	fmt.Fprintln(w)

	r, b := s.PerSecond, s.BytesPerSec
	textTable(w, [][]string{
		{"Per second", "min", "median", "mean", "max", "stdev", "samples"},
		{"Req/s", numfmt.Whole(r.Min), numfmt.Whole(r.Median), numfmt.Whole(r.Mean), numfmt.Whole(r.Max), numfmt.Whole(r.Stdev), strconv.Itoa(r.N)},
		{"Bytes/s", numfmt.Bytes(b.Min), numfmt.Bytes(b.Median), numfmt.Bytes(b.Mean), numfmt.Bytes(b.Max), numfmt.Bytes(b.Stdev), strconv.Itoa(b.N)},
	})
	fmt.Fprintln(w)

	// The attack's figures; what ended after it is the wait's, below.
	reqs, errs := s.Requests-s.WaitRequests, s.Errors-s.WaitErrors
	fmt.Fprintf(w, "%s requests in %.2f s, %s successful: %s req/s, %s read\n",
		numfmt.Whole(float64(reqs)), s.DurationS, numfmt.Whole(float64(reqs-errs)), numfmt.Whole(s.RPS), numfmt.Bytes(float64(s.BytesIn)))
	if errs > 0 {
		fmt.Fprintf(w, "           req/s counts successful responses only; with the %s failed, %s requests/s were answered or failed\n",
			numfmt.Whole(float64(errs)), numfmt.Whole(s.RPSAll))
	}
	if s.WaitRequests > 0 || s.WaitS > 0 {
		fmt.Fprintf(w, "Wait       %s after the attack for the last answers: %s more ended, %s failed; in the counts and latencies, not in req/s or the per-second samples\n",
			seconds(s.WaitS), numfmt.Whole(float64(s.WaitRequests)), numfmt.Whole(float64(s.WaitErrors)))
	}
	fmt.Fprintf(w, "Status     %s\n", codes(s.StatusCodes))
	fmt.Fprintf(w, "Errors     %s\n", errorsLine(s))
	if len(s.PerWorker) > 0 || s.Workers > 0 {
		fmt.Fprintf(w, "Workers    %s\n", workersLine(s))
	}
	if s.Mode == results.ModeOpen {
		fmt.Fprintf(w, "Late       %s\n", lateLine(s))
		fmt.Fprintf(w, "Unsent     %s\n", unsentLine(s))
	}
	if s.Engine != "merged" {
		fmt.Fprintf(w, "Generator  %.2f CPU-s, %.2f of the %s it may use\n", s.LoadgenCPU, s.LoadgenCores, plural(s.CoresAllowed, "CPU"))
	}
	if len(s.MachineCPU) > 0 {
		fmt.Fprintf(w, "CPUs busy  %s\n", busyLine(s.MachineCPU))
	}
	if s.Saturated {
		fmt.Fprintf(w, "\nWARNING: %s.\n", s.SaturatedWhy)
	} else if busy, ok := contended(s); ok {
		fmt.Fprintf(w, "\nNOTE: the generator's CPUs (%s) were %.0f%% busy and it got %.2f of them: other processes, the server perhaps, took the rest, so the generator may have held the load back; give each its own CPUs (bench attack --cpus, bench serve --cpus).\n",
			cpuList(s.LoadgenCPUs), 100*busy, s.LoadgenCores)
	}
	if len(s.LoadHosts) > 0 {
		fmt.Fprintln(w)
		loadHostsTable(w, s.LoadHosts)
	}
	return w.err
}

// seconds formats a time in seconds: 7.04 s, or 0.43 ms below a second.
func seconds(v float64) string {
	if v >= 1 {
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	}
	return numfmt.Millis(1000 * v)
}

// loadHostsTable prints one row per part of a load sent from several
// generators: the counts that add up to the merged summary's, each
// part's own percentiles, and how its start and clock compared.
func loadHostsTable(w io.Writer, hosts []results.LoadHost) {
	rows := [][]string{{"Load host", "segment", "requests", "errors", "unsent", "req/s", "p50", "p99", "started", "clock offset"}}
	for _, h := range hosts {
		offset := "-"
		if h.ClockOffsetMs != nil {
			offset = fmt.Sprintf("%+.3f ms ±%.3f", *h.ClockOffsetMs, h.ClockRTTMs/2)
		}
		rows = append(rows, []string{h.Host, cmp.Or(h.Segment, "-"), numfmt.Whole(float64(h.Requests)), numfmt.Whole(float64(h.Errors)), numfmt.Whole(float64(h.Unsent)),
			numfmt.Whole(h.RPS), numfmt.Millis(h.P50), numfmt.Millis(h.P99), fmt.Sprintf("+%.3f ms", h.StartSkewMs), offset})
	}
	textTable(w, rows)
}

func loadLine(s *results.Summary) string {
	if s.Engine == "merged" {
		return "results merged from vegeta files: no generator figures"
	}

	var parts []string
	if s.Mode == results.ModeOpen {
		parts = append(parts, "open loop at "+s.Rate, plural(s.Connections, "connection")+" up front, "+strconv.FormatInt(s.ConnectionsOpened, 10)+" opened")
	} else {
		parts = append(parts, "closed loop", plural(s.Connections, "connection"))
	}
	switch {
	case s.KeepAlive && s.Pipeline > 1:
		parts = append(parts, "keep-alive", "pipelined, "+strconv.Itoa(s.Pipeline)+" requests in flight per connection")
	case s.KeepAlive:
		parts = append(parts, "keep-alive")
	default:
		parts = append(parts, "a new connection per request")
	}
	parts = append(parts, s.Engine+" engine", fmt.Sprintf("%.2f s", s.DurationS))
	if len(s.LoadHosts) > 0 {
		parts = append(parts, "merged from "+plural(len(s.LoadHosts), "part")+" (below)")
	}
	return strings.Join(parts, ", ")
}

func codes(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []string
	for _, k := range keys {
		b = append(b, k+": "+numfmt.Whole(float64(m[k])))
	}
	return strings.Join(b, ", ")
}

func errorsLine(s *results.Summary) string {
	if s.Errors == 0 {
		return "none"
	}
	keys := make([]string, 0, len(s.ErrorKinds))
	for k := range s.ErrorKinds {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(s.ErrorKinds[b] - s.ErrorKinds[a]) })
	var parts []string
	for _, k := range keys {
		p := strings.ReplaceAll(k, "_", " ") + " " + numfmt.Whole(float64(s.ErrorKinds[k]))
		if ex := s.ErrorExamples[k]; ex != "" && k != results.ErrBadStatus {
			p += fmt.Sprintf(" (%q)", ex)
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("%s of %s (%.2f%%): %s", numfmt.Whole(float64(s.Errors)), numfmt.Whole(float64(s.Requests)),
		100*s.FailedShare(), strings.Join(parts, ", "))
}

// workersLine shows how the load was spread over every worker the server
// runs, one that answered nothing at 0%, with Jain's index over them all.
func workersLine(s *results.Summary) string {
	var total int64
	var answered []int
	for k, n := range s.PerWorker {
		i, _ := strconv.Atoi(k)
		answered = append(answered, i)
		total += n
	}
	slices.Sort(answered)
	n := len(answered)
	beyond := s.Workers > 0 && n > 0 && answered[n-1] >= s.Workers // the count given is wrong
	slots := slices.Clone(answered)
	if !beyond {
		for i := range s.Workers {
			if _, ok := s.PerWorker[results.WorkerKey(i)]; !ok {
				slots = append(slots, i)
			}
		}
		slices.Sort(slots)
	}
	var line string
	switch {
	case s.Workers == 0:
		line = fmt.Sprintf("%s answered; how many the server runs is unknown (give --workers N), so fairness %.3f (Jain; 1 = even) is over those %d:", plural(n, "worker"), s.Fairness, n)
	case n == 0:
		return fmt.Sprintf("0 of %s answered with an X-Worker header", plural(s.Workers, "worker"))
	case beyond:
		line = fmt.Sprintf("%s answered, slots beyond the %s the server was said to run; fairness %.3f (Jain over %d; 1 = even):", plural(n, "worker"), plural(s.Workers, "worker"), s.Fairness, max(n, s.Workers))
	default:
		idle := ""
		if n < s.Workers {
			idle = ", the idle counting 0"
		}
		line = fmt.Sprintf("%d of %s answered, fairness %.3f (Jain over all %d%s; 1 = even):", n, plural(s.Workers, "worker"), s.Fairness, s.Workers, idle)
	}
	const show = 32
	for i, slot := range slots {
		if i == show {
			line += fmt.Sprintf("  ... %d more", len(slots)-show)
			break
		}
		n, ok := s.PerWorker[results.WorkerKey(slot)]
		if !ok {
			line += fmt.Sprintf("  #%d 0%%", slot)
			continue
		}
		line += fmt.Sprintf("  #%d %.1f%%", slot, 100*float64(n)/float64(max(total, 1)))
	}
	return line
}

func lateLine(s *results.Summary) string {
	l := s.Late
	if l.Count == 0 {
		return fmt.Sprintf("no request left more than %s after its scheduled time", numfmt.Millis(l.Threshold))
	}
	line := fmt.Sprintf("%s of %s requests (%.2f%%) left more than %s after their scheduled time; mean %s, max %s late",
		numfmt.Whole(float64(l.Count)), numfmt.Whole(float64(s.Requests)), 100*l.Share, numfmt.Millis(l.Threshold), numfmt.Millis(l.MeanMs), numfmt.Millis(l.MaxMs))
	if l.ConnBusy > 0 {
		line += fmt.Sprintf("\n           %s of them because every connection was waiting for a response, or in the catching up after: the server was behind (the wait is in the latencies)",
			numfmt.Whole(float64(l.ConnBusy)))
	}
	return line
}

func unsentLine(s *results.Summary) string {
	if s.Unsent == 0 {
		return "none: every request scheduled within the duration was sent"
	}
	return fmt.Sprintf("%s of the %s scheduled within the duration found no free connection within the timeout and were given up, counted in the latencies at the time they waited (--max-connections allows more)",
		numfmt.Whole(float64(s.Unsent)), numfmt.Whole(float64(s.Unsent+s.Requests)))
}

// textTable prints rows in columns: the first left-aligned, the others
// right-aligned, two spaces apart.
func textTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(cell))
		}
	}
	widths[0] = max(widths[0], 9)
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			if i == 0 {
				b.WriteString(cell + strings.Repeat(" ", widths[0]-len(cell)))
				continue
			}
			b.WriteString(strings.Repeat(" ", 2+widths[i]-len(cell)) + cell)
		}
		fmt.Fprintln(w, b.String())
	}
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// busyLine shows each CPU's busy share: "cpu0 98%  cpu1 7%".
func busyLine(busy []float64) string {
	parts := make([]string, len(busy))
	for i, b := range busy {
		parts[i] = fmt.Sprintf("cpu%d %.0f%%", i, 100*b)
	}
	return strings.Join(parts, "  ")
}

// contended reports whether the generator's CPUs were nearly all busy
// while it used well under them: it was not saturated by its own work,
// yet it may have had to wait for CPU time, which the saturation check,
// counting only its own use, cannot see.
func contended(s *results.Summary) (float64, bool) {
	var busy float64
	n := 0
	for _, c := range s.LoadgenCPUs {
		if c < len(s.MachineCPU) {
			busy += s.MachineCPU[c]
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	busy /= float64(n)
	return busy, busy >= 0.9 && s.LoadgenCores < 0.75*float64(n)
}
