package vmtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSilentBootRetried: a guest that prints no start marker within the
// boot timeout is killed and booted once more, and, silent again, is
// reported as such rather than waited for until the run's timeout.
func TestSilentBootRetried(t *testing.T) {
	bench := needVM(t)
	var lines []string
	start := time.Now()
	_, err := Run(context.Background(), Options{Shape: Shape{Sockets: 1, Cores: 1, Threads: 1}, Bench: bench, Dir: t.TempDir(),
		Script: "true", BootTimeout: time.Millisecond, Output: func(l string) { lines = append(lines, l) }})
	if !errors.Is(err, errSilentBoot) {
		t.Fatalf("Run = %v, want the silent boot's error", err)
	}
	retries := 0
	for _, l := range lines {
		if strings.Contains(l, "booting once more") {
			retries++
		}
	}
	if retries != 1 || time.Since(start) > time.Minute {
		t.Errorf("booted once more %d times, in %v; want once, at once", retries, time.Since(start))
	}
}
