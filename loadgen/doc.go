// Package loadgen is corebench's load generator: it sends HTTP requests to
// one URL, in a closed loop (each connection sends its next request when
// the previous response is complete) or in an open loop (requests leave on
// a schedule set by a vegeta Pacer), and measures what came back into a
// results.Summary.
//
// Two engines produce the same records and so the same metrics:
//
//   - "fast", the default for http:// URLs: one goroutine per raw TCP
//     connection, request bytes built once, an HTTP/1.1 response parser
//     that allocates nothing per request. It exists because the generator
//     must never be the bottleneck of a benchmark: on one core it does as
//     much as wrk or a little more (docs/performance.md), where net/http
//     based generators reach a third of that.
//   - "vegeta": vegeta's Attacker over net/http, for everything else
//     (https, HTTP/2, redirects).
//
// In the open loop, latency is measured from the time a request was
// scheduled to leave, not from the moment a connection was free to send
// it, which corrects the coordinated omission of closed-loop generators
// the way wrk2 does; requests that left late are counted. Every request
// scheduled within the duration is sent, however late the run gets to it,
// unless no connection frees up within the timeout of its scheduled time:
// then it is counted as unsent. Timed-out and unsent requests count in
// the latency percentiles at the time they were given up, as lower bounds
// (results.Latency.LowerBounds), so a stalled server cannot hide in them.
//
// With Options.Pipeline > 1 (fast engine) each connection keeps that many
// requests in flight, HTTP/1.1 pipelining; responses complete the oldest
// outstanding request, so a request's latency includes its wait behind
// the earlier ones on its connection (pipeline.go).
//
// Rates (Summary.RPS, the time series, the per-second samples) count
// successful responses only; failures are counted beside them. They are
// the attack's: what completed within its duration, over it. Requests
// still outstanding at its end (a stopped server's, until their timeout;
// an open loop's backlog) end in the wait after it, which the summary
// says apart (WaitS, WaitRequests, WaitErrors), as vegeta reports its
// Wait apart from its Duration: a request stuck until --timeout does not
// stretch the rate of what the server did meanwhile.
//
// The package is a library the suite calls in-process, so it sets no
// process-global state: no GOMAXPROCS, no CPU affinity, no signals, no
// flags. Callers that want the generator pinned do it themselves (as
// `bench attack --cpus` does) and say so in Options.AllowedCPUs.
//
// Every request is recorded as a small fixed-size record into a buffer of
// its connection; a collector goroutine swaps the buffers every 10 ms and
// folds them into the time series, the histogram and the counts, so the
// hot path costs an uncontended mutex and an append, and memory stays flat
// over the length of a run. Options.Output streams every result to an
// encoder as it is collected.
package loadgen
