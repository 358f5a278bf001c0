//go:build !unix

package loadgen

import "time"

// cpuTime is unknown here: no getrusage.
func cpuTime() time.Duration { return 0 }
