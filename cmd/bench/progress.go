package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/report"
)

// progressBar draws the run's progress on one terminal line.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func (p *progressBar) update(pr loadgen.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	const width = 30
	var line string
	if pr.Warmup {
		line = fmt.Sprintf("warming up %5.1fs", pr.Elapsed.Seconds())
	} else {
		frac := 0.0
		if pr.Duration > 0 {
			frac = min(float64(pr.Elapsed)/float64(pr.Duration), 1)
		}
		done := int(frac * width)
		line = fmt.Sprintf("[%s%s] %5.1fs/%v  %s req/s  %s requests  %s errors",
			strings.Repeat("=", done), strings.Repeat(" ", width-done), pr.Elapsed.Seconds(), pr.Duration.Round(time.Millisecond),
			report.Count(int64(math.Round(pr.RPS))), report.Count(pr.Requests), report.Count(pr.Errors))
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// clear erases the bar; a nil bar does nothing.
func (p *progressBar) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
