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
// writer, so `pm2 logs`-style prefixed output never interleaves mid-line.
type logSink struct {
	mu   sync.Mutex
	w    io.Writer
	tail []string // the last lines, for `bench logs` to start from
	subs map[chan string]struct{}
}

const logTail = 200

func newLogSink(w io.Writer) *logSink { return &logSink{w: w, subs: map[chan string]struct{}{}} }

// line writes one line (without its newline) to the sink.
func (l *logSink) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, s+"\n")
	if len(l.tail) >= logTail {
		l.tail = append(l.tail[:0], l.tail[1:]...)
	}
	l.tail = append(l.tail, s)
	for c := range l.subs {
		select {
		case c <- s:
		default: // a slow follower misses lines rather than stalling the master
		}
	}
}

// subscribe returns the recent lines and a channel of the lines to come.
func (l *logSink) subscribe() ([]string, chan string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := make(chan string, 1024)
	l.subs[c] = struct{}{}
	return append([]string(nil), l.tail...), c
}

func (l *logSink) unsubscribe(c chan string) {
	l.mu.Lock()
	delete(l.subs, c)
	l.mu.Unlock()
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
