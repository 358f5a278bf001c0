package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/variant"
)

// TestServeTakesEveryVariant: bench serve accepts every variant's model
// and scheduler, and its name as --model, so the table in results and
// the models cannot drift apart.
func TestServeTakesEveryVariant(t *testing.T) {
	for _, v := range variant.All() {
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

// TestServeCPUsInOrder: --cpus keeps the order written, as prefork pins
// worker i to the i-th CPU and bench run lists whole cores first.
func TestServeCPUsInOrder(t *testing.T) {
	allowed, err := affinity.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skip("needs 2 CPUs")
	}
	a, b := allowed[0], allowed[1]
	f := serveFlags{model: "prefork", cpus: fmt.Sprintf("%d,%d", b, a), workers: "2", grace: time.Second, minUptime: time.Second, maxRestarts: 1}
	o, _, err := f.options()
	if err != nil || !slices.Equal(o.CPUs, []int{b, a}) {
		t.Errorf("--cpus %s: CPUs %v, %v", f.cpus, o.CPUs, err)
	}
}
