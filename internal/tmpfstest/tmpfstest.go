// Package tmpfstest mounts a small tmpfs for a test: a disk that fills,
// or a read-only one. Mounting needs root; outside CI the test skips
// when it cannot mount, under CI it fails.
package tmpfstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Mount mounts a tmpfs of size (such as "200k") with the extra mount
// options opts (such as "ro") on a new directory, unmounted when the
// test ends, and returns the directory.
func Mount(t testing.TB, size, opts string) string {
	t.Helper()
	dir := t.TempDir()
	o := "size=" + size
	if opts != "" {
		o += "," + opts
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", o, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount -t tmpfs -o %s: %v: %s", o, err, out)
		}
		t.Skipf("needs root to mount a tmpfs of %s (mount: %v: %s)", size, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
