//go:build linux

package prefork

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/corebench/corebench/models"
)

// TestStartupFailure: a worker that dies before it is ready fails the
// start with what it said, and Run returns having reaped everything.
func TestStartupFailure(t *testing.T) {
	err := Run(context.Background(), Options{
		Options:    models.Options{Addr: "127.0.0.1:0", Workers: 2, Log: io.Discard},
		Executable: "/bin/sh",
		Args:       []string{"-c", "echo cannot start here >&2; exit 3"},
	})
	if err == nil || !strings.Contains(err.Error(), "exited while starting") || !strings.Contains(err.Error(), "cannot start here") {
		t.Fatalf("Run = %v", err)
	}
}

func TestUnknownSched(t *testing.T) {
	if _, err := New(Options{Sched: "random"}); err == nil {
		t.Error("accepted sched random")
	}
}
