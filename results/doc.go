// Package results is corebench's record format, and nothing else, as
// benchfmt is benchstat's: what a run (results.json, Run) and a scenario
// (result.json, Scenario) measured and under what conditions, as Go types
// with their JSON form; Load, Save and CheckDir of those files; and the
// values the files hold (sweeps, modes, workloads, limits, error kinds,
// the latency Histogram with its quantiles). A file from an older bench
// of the same SchemaVersion reads as it was written.
//
// What is made of the records lives elsewhere: their statistics in
// package stats (a case's summary, a load merged from its parts, the
// figures of a histogram), the judgement of them in assess (what limited
// a case, the noise it met), the servers they name in variant, and their
// rendering in report.
//
// Its constraint: it imports no package of the module, and no image or
// plot package, so every package may read and write records and none
// pulls in more by doing so (TestImports, at the module root, checks it).
package results
