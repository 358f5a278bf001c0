//go:build linux

package prefork

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"
)

// logSink serialises whole lines from the master and every worker onto one
// writer, so `pm2 logs`-style prefixed output never interleaves mid-line,
// and keeps them in a feed for `bench logs`: a slow follower misses lines
// rather than stalling the master.
type logSink struct {
	mu sync.Mutex // orders the writes and the feed alike
	w  io.Writer
	*feed[string]
}

const logTail = 200

func newLogSink(w io.Writer) *logSink {
	return &logSink{w: w, feed: newFeed[string](logTail, 1024, true)}
}

// line writes one line (without its newline) to the sink.
func (l *logSink) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, s+"\n")
	l.publish(s)
}

func (l *logSink) printf(format string, args ...any) {
	l.line(fmt.Sprintf("[master %d] ", os.Getpid()) + fmt.Sprintf(format, args...))
}

// copyLines copies r to the sink line by line with a prefix until EOF, and
// remembers the last line for error messages.
func (l *logSink) copyLines(r io.Reader, prefix string, last *lastLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		last.set(sc.Text())
		l.line(prefix + sc.Text())
	}
}

// lastLine holds the most recent line a worker logged.
type lastLine struct {
	mu sync.Mutex
	s  string
}

func (x *lastLine) set(s string) { x.mu.Lock(); x.s = s; x.mu.Unlock() }
func (x *lastLine) get() string  { x.mu.Lock(); defer x.mu.Unlock(); return x.s }
