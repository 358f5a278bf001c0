package prefork

import "time"

// Policy decides what happens to a slot whose worker died, the way PM2 does:
// a worker that lived less than MinUptime was unstable; after MaxRestarts
// unstable restarts in a row the slot is errored and left down. Unstable
// restarts wait an exponential backoff; a worker that had been up for a
// while is replaced at once, which is what keeps a crash's outage short.
type Policy struct {
	MinUptime   time.Duration // default 1s
	MaxRestarts int           // unstable restarts in a row before errored; default 16, like PM2
	BackoffBase time.Duration // first unstable delay; default 100ms
	BackoffMax  time.Duration // delay cap; default 15s, like PM2's exponential backoff
}

func (p Policy) withDefaults() Policy {
	if p.MinUptime <= 0 {
		p.MinUptime = time.Second
	}
	if p.MaxRestarts <= 0 {
		p.MaxRestarts = 16
	}
	if p.BackoffBase <= 0 {
		p.BackoffBase = 100 * time.Millisecond
	}
	if p.BackoffMax <= 0 {
		p.BackoffMax = 15 * time.Second
	}
	return p
}

// Next returns, for a worker that ran for uptime after unstable unstable
// restarts in a row, the new count of unstable restarts, how long to wait
// before restarting, and whether to give up on the slot instead.
func (p Policy) Next(uptime time.Duration, unstable int) (count int, delay time.Duration, errored bool) {
	p = p.withDefaults()
	if uptime >= p.MinUptime {
		return 0, 0, false
	}
	unstable++
	if unstable > p.MaxRestarts {
		return unstable, 0, true
	}
	delay = p.BackoffBase
	for i := 1; i < unstable && delay < p.BackoffMax; i++ {
		delay *= 2
	}
	return unstable, min(delay, p.BackoffMax), false
}
