package child

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// StartExternal runs an external server: command (its placeholders filled
// in) through /bin/sh -c, in a process group that its SIGTERM goes to,
// ready when 127.0.0.1:port accepts a connection or, with ready, when it
// prints a stdout line that matches; o.CPUs pins it. Its errors are one
// line that names it and its command, and quotes its last stderr lines.
func StartExternal(ctx context.Context, name, command, ready string, port int, o Options) (*Server, error) {
	o.Addr, o.Group = net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), true
	if ready != "" {
		re, err := regexp.Compile(ready)
		if err != nil {
			return nil, fmt.Errorf("server %s: ready pattern: %v", name, err)
		}
		o.ReadyLine = re
	}
	srv, err := Start(ctx, exec.Command("/bin/sh", "-c", command), o)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("server %s (%s): %s", name, command, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return srv, err
}

// FreePort returns a loopback TCP port nobody listens on just now, for an
// external server to take. Another process may take it first; the server
// then fails to start, with its own error.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free loopback port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
