// Package sshdtest starts a throwaway OpenSSH server for tests: its own
// host and user keys, its own configuration (no PAM, keys only, root
// allowed), listening on loopback addresses, stopped and reaped at the
// end of the test.
package sshdtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
)

// Path is where Debian's openssh-server installs sshd.
const Path = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Port string
	// SSH is the ssh command line that logs in to it as root with the
	// test's key, for remote.Options.SSH or bench run --ssh.
	SSH []string
}

// Start starts sshd on a free port of every address given (127.0.0.1 by
// default), ready once it says it listens on each. It skips the test
// where sshd cannot run (no sshd, not root), except under CI=1, where it
// fails: CI installs openssh-server (.ci/run).
func Start(t *testing.T, addrs ...string) *Server {
	t.Helper()
	return StartWith(t, Config{Addrs: addrs})
}

// Config is what StartWith sets up.
type Config struct {
	Addrs []string // addresses to listen on; default 127.0.0.1
	// Path, when set, is the PATH of the sessions (sshd's SetEnv).
	Path string
}

// StartWith is Start with more settings.
func StartWith(t *testing.T, c Config) *Server {
	t.Helper()
	addrs := c.Addrs
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1"}
	}
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "sshd needs root to log users in"
	default:
		if _, err := os.Stat(Path); err != nil {
			why = Path + " is missing (apt-get install openssh-server)"
		}
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot start a test sshd: %s", why)
		}
		t.Skipf("skipped: cannot start a test sshd: %s", why)
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("ssh: %v (apt-get install openssh-client)", err)
	}
	dir := t.TempDir()
	for _, k := range []string{"host", "user"} {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshdtest-"+k, "-f", filepath.Join(dir, k)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd wants its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t, addrs[0])
	var listen strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&listen, "ListenAddress %s\n", net.JoinHostPort(a, port))
	}
	if c.Path != "" {
		fmt.Fprintf(&listen, "SetEnv PATH=%s\n", c.Path)
	}
	conf := filepath.Join(dir, "sshd_config")
	err = os.WriteFile(conf, []byte(listen.String()+`HostKey `+filepath.Join(dir, "host")+`
PidFile none
AuthorizedKeysFile `+filepath.Join(dir, "authorized_keys")+`
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Path, "-D", "-e", "-f", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		// Its sessions too: orphans come to the test binary when it is
		// the subreaper, and are reaped here.
		tree := proc.Tree(cmd.Process.Pid)
		for _, p := range tree {
			syscall.Kill(p, syscall.SIGKILL)
		}
		cmd.Wait()
		proc.WaitGone(tree[1:], 10*time.Second)
	})
	// Ready when it says it listens on each address; its log then goes
	// to the test's, for failures.
	sc := bufio.NewScanner(stderr)
	ready := make(chan error, 1)
	go func() {
		n := 0
		var last string
		for sc.Scan() {
			l := sc.Text()
			if n < len(addrs) {
				last = l
				if strings.Contains(l, "Server listening on") {
					if n++; n == len(addrs) {
						ready <- nil
					}
				}
				continue
			}
		}
		if n < len(addrs) {
			ready <- fmt.Errorf("sshd exited before listening: %s", last)
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sshd did not say it listens within 30 s")
	}
	return &Server{Port: port, SSH: []string{"ssh", "-F", "/dev/null", "-i", filepath.Join(dir, "user"),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}}
}

// freePort returns a port nothing listens on at addr, as the kernel
// chose it.
func freePort(t *testing.T, addr string) string {
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
