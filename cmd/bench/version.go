package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// commit returns the harness's git commit: from the build info when the
// binary was built with VCS stamping, else from the source checkout it runs
// in (go run, go test), else "unknown".
func commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			return rev[:min(12, len(rev))] + dirty
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "unknown"
	}
	out, err := exec.Command("git", "-C", filepath.Dir(file), "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", filepath.Dir(file), "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}

func versionLine() string {
	return fmt.Sprintf("bench %s (commit %s, %s, %s/%s)", version, commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
