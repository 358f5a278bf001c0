package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/tmpfstest"
)

// TestSaveDiskFull: a save that does not fit leaves the last good
// results.json as it was and no temporary file beside it (a truncated
// results.json.tmp was left behind).
func TestSaveDiskFull(t *testing.T) {
	dir := filepath.Join(tmpfstest.Mount(t, "200k", ""), "run")
	r := sampleRun()
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	big := sampleRun()
	big.Cases[0].Command = strings.Repeat("x", 300<<10) // more than the disk holds
	err := big.Save(dir)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("saving 300 kB on a 200 kB disk: %v, want no space left", err)
	}
	back, err := Load(dir)
	if err != nil || len(back.Cases) != 1 || back.Cases[0].Command != "" {
		t.Errorf("the last good results.json after the failed save: %v", err)
	}
	assertOnly(t, dir, FileName)
}

// TestSaveFailedRename: whatever step of a save fails, no temporary file
// is left (here the rename, onto a directory in the way).
func TestSaveFailedRename(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, FileName, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := sampleRun().Save(dir); err == nil {
		t.Fatal("saved over a directory")
	}
	assertOnly(t, dir, FileName)
}

// assertOnly fails the test unless dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %v, want only %v", dir, got, names)
	}
}

// TestCheckDir: a directory a run cannot be saved in is refused before
// anything is measured, and checking one that can leaves nothing behind.
func TestCheckDir(t *testing.T) {
	ro := tmpfstest.Mount(t, "64k", "ro")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, tt := range []struct{ dir, want string }{
		{"/proc/self/foo", "cannot write"},
		{filepath.Join(ro, "run"), "read-only file system"},
		{ro, "read-only file system"},
		{filepath.Join(file, "run"), "is a file, not a directory"},
		{file, "is a file, not a directory"},
	} {
		err := CheckDir(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckDir(%s) = %v, want one line saying %q", tt.dir, err, tt.want)
		}
	}
	base := t.TempDir()
	for _, dir := range []string{base, filepath.Join(base, "a", "b")} {
		if err := CheckDir(dir); err != nil {
			t.Errorf("CheckDir(%s): %v", dir, err)
		}
	}
	assertOnly(t, base)
}
