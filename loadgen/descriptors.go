package loadgen

import (
	"fmt"
	"math"
)

// descriptorReserve is how many file descriptors a run keeps for itself
// beyond its connections: the dispatcher's timer, a connection being
// replaced while the old one closes, net/http's spares.
const descriptorReserve = 16

// h2Streams is how many requests the vegeta engine counts on one HTTP/2
// connection to carry at once: RFC 9113 recommends servers allow at least
// 100 concurrent streams.
const h2Streams = 100

// DescriptorError is Run's error, and CheckDescriptors', when the
// connections asked for need more file descriptors than the process may
// still open. Go raises the soft RLIMIT_NOFILE to the hard one for itself
// when it starts (Linux, Go 1.19 and later), so the hard limit is what
// counts; ulimit -n sets both.
type DescriptorError struct {
	Option string // "connections" or "max connections"
	Asked  int    // connections asked for (this process's share of a segment)
	Most   int    // connections that fit
	Limit  uint64 // the soft RLIMIT_NOFILE
	Hard   uint64 // the hard one
	Open   int    // descriptors open before the run
}

func (e *DescriptorError) Error() string {
	return fmt.Sprintf("%s %d: a connection needs a file descriptor, and this process may open %s (ulimit -n; hard limit %s), %d open already and %d kept for the run: at most %d connections; raise the limit or ask for fewer",
		e.Option, e.Asked, limitText(e.Limit), limitText(e.Hard), e.Open, descriptorReserve, e.Most)
}

func limitText(n uint64) string {
	if n >= math.MaxInt64 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// descriptorState reads the soft and hard RLIMIT_NOFILE and how many
// descriptors are open; ok is false where it cannot tell. A variable, so
// that tests can pretend to a limit.
var descriptorState = descriptors

// CheckDescriptors reports whether the connections o asks for fit in the
// file descriptors the process may still open, as Run does before it
// opens any: a *DescriptorError when they do not.
func CheckDescriptors(o Options) error {
	_, err := fitDescriptors(o.withDefaults(), o.MaxConnections != 0)
	return err
}

// fitDescriptors checks o's connections against the descriptors free: a
// closed loop's connections, or an open loop's initial ones, and its
// MaxConnections when explicit, must fit; a default MaxConnections is
// lowered to what fits, so that the open loop waits for a connection (and
// counts a hit it cannot send in time as unsent) rather than failing to
// open one.
func fitDescriptors(o Options, explicitMax bool) (Options, error) {
	soft, hard, open, ok := descriptorState()
	if !ok {
		return o, nil
	}
	free := int64(math.MaxInt32)
	if soft < math.MaxInt32 {
		free = int64(soft)
	}
	free -= int64(open) + descriptorReserve
	most := int(max(free, 0))
	if o.HTTP2 {
		most *= h2Streams // streams share a connection
	}
	fail := func(option string, asked int) (Options, error) {
		return o, &DescriptorError{Option: option, Asked: asked, Most: most, Limit: soft, Hard: hard, Open: open}
	}
	if o.Connections > most {
		return fail("connections", o.Connections)
	}
	if o.Rate != nil && o.MaxConnections > most {
		if explicitMax {
			return fail("max connections", o.MaxConnections)
		}
		o.MaxConnections = most
	}
	return o, nil
}
