package docs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/redistest"
	"github.com/corebench/corebench/internal/remote"
	"github.com/corebench/corebench/models/modeltest"
)

// benchCommand builds bench from this tree and returns how to run it:
// the documented commands run the real binary, as a reader would. The
// masters it starts keep their control sockets in a directory of this
// test's, away from any the user runs, and what they orphan is reaped
// here, so a process left behind is seen.
func benchCommand(t *testing.T) func(args ...string) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "bench")
	if out, err := exec.Command("go", "build", "-o", exe, "../cmd/bench").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/bench: %v\n%s", err, out)
	}
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if err := proc.ReapOrphans(); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) *exec.Cmd { return exec.Command(exe, args...) }
}

// leftovers are the processes below this one.
func leftovers() []int { return proc.Tree(os.Getpid())[1:] }

// A documented command is a line of a fenced block whose info string says
// "runnable" (```sh runnable), in README.md or docs/*.md. Lines ending in
// a backslash continue on the next; "# ..." starts a comment. Words after
// "runnable" name programs the block needs besides bench (```sh runnable
// node): where one is not on PATH its commands are skipped, here as in
// tools/workshop/run.sh, which reads the fences the same way.
type docCommand struct {
	file  string
	line  int
	text  string
	needs []string
}

// fenceNeeds reads a fence's info string: whether the block is runnable,
// and the programs it needs.
func fenceNeeds(info string) (runnable bool, needs []string) {
	for _, w := range strings.Fields(info) {
		switch {
		case w == "runnable":
			runnable = true
		case runnable:
			needs = append(needs, w)
		}
	}
	return runnable, needs
}

func documentedCommands(t *testing.T) []docCommand {
	t.Helper()
	files, _ := filepath.Glob("*.md")
	files = append([]string{"../README.md"}, files...)
	var cmds []docCommand
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		n, in, runnable := 0, false, false
		var needs []string
		var cur *docCommand
		for sc.Scan() {
			n++
			l := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(l), "```") {
				info := strings.TrimPrefix(strings.TrimSpace(l), "```")
				in = !in
				runnable, needs = false, nil
				if in {
					runnable, needs = fenceNeeds(info)
				}
				continue
			}
			if !in || !runnable {
				continue
			}
			text := stripComment(l)
			if cur != nil {
				cur.text += " " + strings.TrimSpace(text)
			} else if strings.TrimSpace(text) != "" {
				cur = &docCommand{file: filepath.Base(f), line: n, text: strings.TrimSpace(text), needs: needs}
			}
			if cur != nil {
				if strings.HasSuffix(cur.text, "\\") {
					cur.text = strings.TrimSpace(strings.TrimSuffix(cur.text, "\\"))
					continue
				}
				cmds = append(cmds, *cur)
				cur = nil
			}
		}
		fh.Close()
	}
	return cmds
}

// stripComment drops a shell comment: a # after a space, outside quotes.
func stripComment(l string) string {
	quote := rune(0)
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || l[i-1] == ' '):
			return l[:i]
		}
	}
	return l
}

// words splits a runnable line as --ssh's command line is split
// (remote.SplitWords), refusing shell syntax anywhere in it, as
// tools/workshop/run.sh does: runnable lines are plain commands.
func words(s string) ([]string, error) {
	if i := strings.IndexAny(s, "|&;<>$`"); i >= 0 {
		return nil, fmt.Errorf("shell syntax %q: runnable lines are plain commands", s[i])
	}
	return remote.SplitWords(s)
}

// TestDocumentedCommands runs every runnable command of the README and the
// docs at smoke scale, so a command or flag the docs use cannot disappear
// unnoticed. A prefork server (for attack, ps, reload, ...), a Redis and
// two run directories stand in for what the docs assume is there.
func TestDocumentedCommands(t *testing.T) {
	bench := benchCommand(t)
	cmds := documentedCommands(t)
	if len(cmds) == 0 {
		t.Fatal("no runnable commands found in README.md and docs/*.md")
	}
	work := t.TempDir()
	for _, d := range []string{"a", "b"} {
		b, err := os.ReadFile("../report/testdata/results.json")
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(work, "results", d), 0o755)
		os.WriteFile(filepath.Join(work, "results", d, "results.json"), b, 0o644)
	}
	// The documented --server lines name examples/ from the repository's
	// root.
	if examples, err := filepath.Abs("../examples"); err != nil || os.Symlink(examples, filepath.Join(work, "examples")) != nil {
		t.Fatalf("linking examples/ into %s: %v", work, err)
	}
	srv := modeltest.Start(t, bench("serve", "--model", "prefork", "--workers", "2", "--addr", "127.0.0.1:0", "--chaos"))
	redis := redistest.Start(t)
	replacer := strings.NewReplacer(
		"http://127.0.0.1:8080", srv.URL,
		"127.0.0.1:8080", srv.Addr,
		"redis://127.0.0.1:6379", redis,
		"results/<id>", "results/a", "results/<a>", "results/a", "results/<b>", "results/b",
		"<master pid>", strconv.Itoa(srv.PID),
	)
	before := leftovers()
	urlWord := regexp.MustCompile(`^URL$`)
	for _, c := range cmds {
		name := fmt.Sprintf("%s:%d %s", c.file, c.line, c.text)
		if m := missingPrograms(c.needs); len(m) > 0 {
			if os.Getenv("CI") != "" {
				t.Errorf("%s: needs %s, not on PATH, and CI must run it (.ci/run installs it)", name, strings.Join(m, ", "))
			} else {
				t.Logf("%s: skipped, needs %s, not on PATH", name, strings.Join(m, ", "))
			}
			continue
		}
		args, err := words(replacer.Replace(c.text))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for i, a := range args {
			args[i] = urlWord.ReplaceAllString(a, srv.URL+"/")
		}
		var cmd *exec.Cmd
		switch {
		case len(args) >= 3 && args[0] == "go" && args[1] == "run" && args[2] == "./cmd/bench":
			cmd = bench(append([]string{"--smoke"}, args[3:]...)...)
		case args[0] == "go" && len(args) > 1 && args[1] == "test":
			continue // the test command itself: it is what runs this
		case args[0] == "bench":
			if len(args) > 1 && args[1] == "serve" {
				args = append(args, "--addr", "127.0.0.1:0") // the stand-in has the documented port
			}
			cmd = bench(append([]string{"--smoke"}, args[1:]...)...)
		case args[0] == "curl" || args[0] == "kill":
			if _, err := exec.LookPath(args[0]); err != nil {
				t.Logf("%s: skipped, no %s here", name, args[0])
				continue
			}
			cmd = exec.Command(args[0], args[1:]...)
		default:
			t.Errorf("%s: not a command this test knows how to run (bench, go run ./cmd/bench, curl, kill)", name)
			continue
		}
		cmd.Dir = work
		st, _, stderr := modeltest.RunToExit(t, cmd)
		if st != 0 {
			t.Errorf("%s: exit status %d\n%s", name, st, stderr)
		}
	}
	if left := leftovers(); len(left) > len(before) {
		t.Errorf("processes left behind by the documented commands: %v (before: %v)", left, before)
	}
	if srv.Exited() {
		t.Errorf("the stand-in server exited during the documented commands:\n%s", srv.Stderr())
	}
}

// missingPrograms returns those of progs that are not on PATH.
func missingPrograms(progs []string) []string {
	var out []string
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// TestFenceNeeds: the words after "runnable" are the programs a block
// needs; a fence without "runnable" runs nothing, whatever else it says.
func TestFenceNeeds(t *testing.T) {
	for _, c := range []struct {
		info     string
		runnable bool
		needs    string
	}{
		{"sh runnable", true, ""},
		{"sh runnable node", true, "node"},
		{"sh runnable node pm2", true, "node pm2"},
		{"sh", false, ""},
		{"sh node", false, ""},
		{"", false, ""},
	} {
		r, n := fenceNeeds(c.info)
		if r != c.runnable || strings.Join(n, " ") != c.needs {
			t.Errorf("fence %q: runnable %v needs %q, want %v %q", c.info, r, n, c.runnable, c.needs)
		}
	}
	if m := missingPrograms([]string{"sh", "no-such-program-corebench"}); len(m) != 1 || m[0] != "no-such-program-corebench" {
		t.Errorf("missing programs: %q, want only the one that does not exist", m)
	}
}
