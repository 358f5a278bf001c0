// Package report turns a suite run (results.Run) into what people read:
// report.md, a self-contained report.html, every chart as PNG and SVG,
// and bench.txt for benchstat. It also renders the other results people
// read: a scenario's charts and summary (RenderScenario, ScenarioText) and
// `bench attack`'s table (AttackTable), with the same formatters and
// palette. The statistics it rests on (the Universal Scalability Law fit,
// COST, the Mann–Whitney U test) are package stats'.
//
// A report is a pure function of results.json: rendering never measures
// anything, so `bench report` can redraw an old run with a newer bench.
// Of the module it imports results, stats, assess (the verdicts and
// thresholds it flags by) and variant (the servers' names and order), and
// its own internal packages: doc (the document model, written as Markdown
// and HTML), chart (the chart primitives on gonum/plot) and numfmt (how
// numbers are written). Each model's colour and marker are its own
// (palette.go).
//
// It claims no more than was measured:
//   - A case with over assess.FailedFlag (1%) of its requests failed, or
//     where the generator saturated, is flagged: marked in every table (†,
//     ⚠) with a note saying what the mark means, drawn hollow in every
//     chart with a caption saying so, and left out of the USL fit, COST,
//     knees, rankings and the geomean of `bench compare`.
//   - Per-worker bars and fairness come from the same merged counts, over
//     every worker the server runs, an idle one at 0; where the server did
//     not say how many it runs, the report says so.
//   - The USL is fitted to worker sweeps only, over the worker counts up
//     to the server CPUs (past them workers take turns and bring no
//     capacity: what that costs is shown as measured), and shown only with
//     4 or more worker counts and R² of 0.98 or more; elsewhere the report
//     says why not.
//   - Models are ranked only where their repeats tell them apart (min–max
//     apart and p < 0.05); neighbours within noise are marked ≈, and with
//     too few repeats nothing is ranked. `bench compare` says when the
//     repeats cannot tell A from B.
//   - Timelines break the p99 line at a slice where nothing succeeded.
//   - Figures that timed-out or unsent requests can move are marked ≥ in
//     the attack table: they are lower bounds.
//   - A bench built from a modified tree (+dirty) is shown as such, with a
//     warning.
package report
