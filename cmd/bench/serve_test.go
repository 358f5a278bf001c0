package main

import (
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// TestServeTakesEveryVariant: bench serve accepts every variant's model
// and scheduler, and its name as --model, so the table in results and
// the models cannot drift apart.
func TestServeTakesEveryVariant(t *testing.T) {
	for _, v := range results.Variants() {
		for _, f := range []serveFlags{{model: v.Model, sched: v.Sched}, {model: v.Name}} {
			f.workers, f.grace, f.minUptime, f.maxRestarts = "2", time.Second, time.Second, 1
			o, sched, err := f.options()
			if err != nil {
				t.Errorf("%s: --model %s --sched %q: %v", v, f.model, f.sched, err)
				continue
			}
			if o.model != v.Model || (v.Prefork() && sched != v.Sched) {
				t.Errorf("%s: --model %s --sched %q serves %s %s", v, f.model, f.sched, o.model, sched)
			}
		}
	}
}
