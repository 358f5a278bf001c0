package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// oneByteReader returns one byte per Read, to exercise every buffer edge.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestReadResponse(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	for _, tc := range []struct {
		name    string
		in      string
		head    bool
		max     int64
		status  int
		body    int64
		worker  int32
		close   bool
		err     error // want errors.Is
		malform bool  // want a *parseError
		eof     bool  // the end of the stream ends the response
	}{
		{name: "content-length", in: ok, status: 200, body: 5, worker: -1},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\n", status: 204, worker: -1},
		{name: "x-worker", in: "HTTP/1.1 200 OK\r\nx-worker: 7\r\nContent-Length: 0\r\n\r\n", status: 200, worker: 7},
		{name: "x-worker first wins", in: "HTTP/1.1 200 OK\r\nX-Worker: 3\r\nX-Worker: 4\r\nContent-Length: 0\r\n\r\n", status: 200, worker: 3},
		{name: "x-worker leading zeros", in: "HTTP/1.1 200 OK\r\nX-Worker: 00000000000000000007\r\nContent-Length: 0\r\n\r\n", status: 200, worker: 7},
		{name: "x-worker not a number", in: "HTTP/1.1 200 OK\r\nX-Worker: a\r\nContent-Length: 0\r\n\r\n", status: 200, worker: -1},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n", status: 200, body: 11, worker: -1},
		{name: "chunked upper hex", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", status: 200, body: 10, worker: -1},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 200, worker: -1, close: true},
		{name: "connection tokens", in: "HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n", status: 200, worker: -1, close: true},
		{name: "http/1.0 closes", in: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", status: 200, body: 2, worker: -1, close: true},
		{name: "http/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", status: 200, body: 2, worker: -1},
		{name: "until close", in: "HTTP/1.0 200 OK\r\n\r\nbody until EOF", status: 200, body: 14, worker: -1, close: true, eof: true},
		{name: "head has no body", in: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head: true, status: 200, worker: -1},
		{name: "304 has no body", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n", status: 304, worker: -1},
		{name: "100 continue skipped", in: "HTTP/1.1 100 Continue\r\n\r\n" + ok, status: 200, body: 5, worker: -1},
		{name: "te and cl: te wins, close", in: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", status: 200, body: 1, worker: -1, close: true},
		{name: "same cl twice", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", status: 200, body: 1, worker: -1},
		{name: "500", in: "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", status: 500, worker: -1},
		{name: "header spaces", in: "HTTP/1.1 200 OK\r\nContent-Length: \t 3 \t\r\n\r\nabc", status: 200, body: 3, worker: -1},

		// Bare LF ends a line of the head, as in net/http (RFC 9112, 2.2).
		{name: "lf", in: "HTTP/1.1 200 OK\nContent-Length: 5\nX-Worker: 2\n\nhello", status: 200, body: 5, worker: 2},
		{name: "lf status line", in: "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", status: 200, worker: -1},
		{name: "lf no headers", in: "HTTP/1.1 204\n\n", status: 204, worker: -1},
		{name: "lf end after crlf", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nhi", status: 200, body: 2, worker: -1},
		{name: "crlf end after lf", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\r\nhi", status: 200, body: 2, worker: -1},
		{name: "lf head ends before a crlfcrlf", in: "HTTP/1.1 200 OK\nContent-Length: 6\n\n\r\n\r\nab", status: 200, body: 6, worker: -1},
		{name: "lf connection close", in: "HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n\n", status: 200, worker: -1, close: true},
		{name: "lf chunked head", in: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\nT: v\r\n\r\n", status: 200, body: 5, worker: -1},
		{name: "lf 100 continue", in: "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 0\n\n", status: 200, worker: -1},
		{name: "lf until close", in: "HTTP/1.0 200 OK\n\nbody", status: 200, body: 4, worker: -1, close: true, eof: true},

		{name: "empty", in: "", err: io.EOF},
		{name: "eof in headers", in: "HTTP/1.1 200 OK\r\nContent-Le", err: io.ErrUnexpectedEOF},
		{name: "eof in body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", err: io.ErrUnexpectedEOF},
		{name: "eof in chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", err: io.ErrUnexpectedEOF},
		{name: "garbage", in: "garbage garbage\r\n\r\n", malform: true},
		{name: "http/2", in: "HTTP/2.0 200 OK\r\n\r\n", malform: true},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", malform: true},
		{name: "status 600", in: "HTTP/1.1 600 X\r\n\r\n", malform: true},
		{name: "status letters", in: "HTTP/1.1 2x0 OK\r\n\r\n", malform: true},
		{name: "bare cr in status line", in: "HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", malform: true},
		{name: "bare cr line ends", in: "HTTP/1.1 200 OK\rContent-Length: 0\r\r", malform: true},
		{name: "cr cr lf", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\r\n\r\n", malform: true},
		{name: "empty line of cr", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\r\n", malform: true},
		{name: "lf cr line ends", in: "HTTP/1.1 200 OK\n\rContent-Length: 0\n\r\n\r", malform: true},
		{name: "empty status line", in: "\r\nHTTP/1.1 200 OK\r\n\r\n", malform: true},
		{name: "lf empty status line", in: "\nHTTP/1.1 200 OK\n\n", malform: true},
		// Chunked framing takes CRLF only, as in net/http (RFC 9112 erratum 7633).
		{name: "lf chunk size", in: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\r\n0\r\n\r\n", malform: true},
		{name: "lf after chunk data", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", malform: true},
		{name: "lf last chunk", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n", malform: true},
		{name: "lf trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: v\n\r\n", malform: true},
		{name: "lf end of trailers", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n", malform: true},
		{name: "bare cr chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r0\r\r", malform: true},
		{name: "cr in chunk extension", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n", malform: true},
		{name: "chunk line over 4k", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("x", 4094) + "\r\nx\r\n0\r\n\r\n", malform: true},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", malform: true},
		{name: "no colon", in: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", malform: true},
		{name: "space before colon", in: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\na", malform: true},
		{name: "bad cl", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", malform: true},
		{name: "two cls", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\na", malform: true},
		{name: "gzip te", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", malform: true},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", malform: true},
		{name: "chunk without crlf", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", malform: true},
		{name: "101", in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", malform: true},
		{name: "body over max", in: "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", max: 1 << 20, malform: true, close: true},
		{name: "chunked over max", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("x", 1024) + "\r\n400\r\n", max: 1500, malform: true, close: true},
		{name: "until close over max", in: "HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("x", 3000), max: 1500, malform: true, close: true},
		{name: "headers over 64k", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 70000) + "\r\n\r\n", malform: true},
	} {
		for _, mode := range []string{"whole", "bytewise", "stalled"} {
			if mode == "stalled" && (tc.err != nil || tc.eof) {
				continue
			}
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tc.in)
				switch mode {
				case "bytewise":
					src = oneByteReader{src}
				case "stalled":
					src = oneByteReader{io.MultiReader(src, stalled{})}
				}
				max := tc.max
				if max == 0 {
					max = 1 << 30
				}
				rr := newRespReader()
				var resp response
				err := rr.readResponse(src, tc.head, max, &resp)
				var pe *parseError
				switch {
				case err == errStalled:
					t.Fatalf("waited for more than the %d bytes of a whole response", len(tc.in))
				case tc.malform:
					if !errors.As(err, &pe) {
						t.Fatalf("err = %v, want a malformed response", err)
					}
				case tc.err != nil:
					if !errors.Is(err, tc.err) {
						t.Fatalf("err = %v, want %v", err, tc.err)
					}
					return
				case err != nil:
					t.Fatalf("err = %v", err)
				}
				if tc.close && !resp.close {
					t.Errorf("close = false, want true")
				}
				if err != nil {
					return
				}
				if resp.status != tc.status || resp.bodyLen != tc.body || resp.worker != tc.worker || resp.close != tc.close {
					t.Errorf("got status %d body %d worker %d close %v, want %d %d %d %v",
						resp.status, resp.bodyLen, resp.worker, resp.close, tc.status, tc.body, tc.worker, tc.close)
				}
			})
		}
	}
}

// stalled is a server that sent its response and waits for the next
// request: a parser that reads from it wants more than the response, and
// would wait until the timeout.
type stalled struct{}

var errStalled = errors.New("stalled")

func (stalled) Read([]byte) (int, error) { return 0, errStalled }

// TestReadResponsePipelined reads responses back to back from one stream,
// as on a keep-alive connection, across buffer refills and compactions.
func TestReadResponsePipelined(t *testing.T) {
	var stream bytes.Buffer
	var want []int64
	for i := range 2000 {
		body := strings.Repeat("b", i%300)
		if i%3 == 0 {
			stream.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Worker: " + strconv.Itoa(i%5) + "\r\n\r\n")
			if body != "" {
				stream.WriteString(strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n")
			}
			stream.WriteString("0\r\n\r\n")
		} else {
			stream.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nX-Worker: " + strconv.Itoa(i%5) + "\r\n\r\n" + body)
		}
		want = append(want, int64(len(body)))
	}
	rr := newRespReader()
	src := bufio.NewReaderSize(&stream, 1000) // reads of odd sizes
	for i, n := range want {
		var resp response
		if err := rr.readResponse(src, false, 1<<20, &resp); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.bodyLen != n || resp.worker != int32(i%5) {
			t.Fatalf("response %d: body %d worker %d, want %d %d", i, resp.bodyLen, resp.worker, n, i%5)
		}
	}
	var resp response
	if err := rr.readResponse(src, false, 1<<20, &resp); err != io.EOF {
		t.Fatalf("after the last response: %v, want EOF", err)
	}
}

// TestLineEndsEndToEnd runs the fast engine against raw servers with
// unusual line ends, on keep-alive connections and with a timeout far
// longer than the run, so that a parser waiting for bytes that never come
// shows as timeouts. Bare LF in the head, which net/http accepts, must
// succeed (the vegeta engine, on net/http, shows it does); a bare CR, or a
// chunked body framed in bare LF (net/http refuses both), must fail at
// once as malformed.
func TestLineEndsEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name, resp string
		ok         bool
	}{
		{"lf content-length", "HTTP/1.1 200 OK\nContent-Length: 5\nX-Worker: 1\n\nhello", true},
		// Chunked framing stays CRLF: net/http refuses a bare LF there.
		{"lf chunked", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-Worker: 1\n\n5\r\nhello\r\n0\r\n\r\n", true},
		{"mixed", "HTTP/1.1 200 OK\r\nContent-Length: 5\nX-Worker: 1\r\n\nhello", true},
		{"bare cr", "HTTP/1.1 200 OK\rContent-Length: 5\rX-Worker: 1\r\rhello", false},
		{"lf chunk lines", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-Worker: 1\n\n5\nhello\n0\n\n", false},
	} {
		for _, engine := range engines {
			if !tc.ok && engine == EngineVegeta {
				continue // net/http waits for the LF after a bare CR
			}
			t.Run(tc.name+"/"+engine.String(), func(t *testing.T) {
				url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
					for readRequest(br) {
						if _, err := io.WriteString(c, tc.resp); err != nil {
							return
						}
					}
				})
				s := mustRun(t, Options{URL: url, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond, Timeout: 30 * time.Second})
				if !tc.ok {
					if s.Requests == 0 || s.ErrorKinds[results.ErrMalformed] != s.Requests {
						t.Fatalf("%d requests, errors %v (%v): want every one malformed", s.Requests, s.ErrorKinds, s.ErrorExamples)
					}
					return
				}
				if s.Requests == 0 || s.Errors != 0 || s.StatusCodes["200"] != s.Requests {
					t.Fatalf("%d requests, errors %v (%v), status codes %v: want every one a 200", s.Requests, s.ErrorKinds, s.ErrorExamples, s.StatusCodes)
				}
				if s.PerWorker["1"] != s.Requests || s.BytesIn != 5*s.Requests {
					t.Errorf("per worker %v, %d body bytes for %d requests: want X-Worker 1 and 5 bytes each", s.PerWorker, s.BytesIn, s.Requests)
				}
				if engine == EngineFast && s.ConnectionsOpened != 2 {
					t.Errorf("%d connections opened for 2: want them kept alive", s.ConnectionsOpened)
				}
			})
		}
	}
}

// repeatReader serves the same response forever.
type repeatReader struct {
	b []byte
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.i:])
	r.i = (r.i + n) % len(r.b)
	return n, nil
}

func TestReadResponseAllocatesNothing(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\nX-Worker: 3\r\n\r\nHello, World!",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n",
	} {
		src := &repeatReader{b: []byte(in)}
		rr := newRespReader()
		var resp response
		allocs := testing.AllocsPerRun(1000, func() {
			if err := rr.readResponse(src, false, 1<<20, &resp); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d allocations per response, want 0", int(allocs))
		}
	}
}

// BenchmarkReadResponse is the parser's cost per response, for a typical
// nginx head with a small body, a chunked one, and the first with bare LF.
func BenchmarkReadResponse(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"crlf", "HTTP/1.1 200 OK\r\nServer: nginx/1.26.3\r\nDate: Sat, 22 Nov 2026 02:40:27 GMT\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!"},
		{"crlf-chunked", "HTTP/1.1 200 OK\r\nServer: nginx/1.26.3\r\nDate: Sat, 22 Nov 2026 02:40:27 GMT\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\nd\r\nHello, World!\r\n0\r\n\r\n"},
		{"lf", "HTTP/1.1 200 OK\nServer: nginx/1.26.3\nDate: Sat, 22 Nov 2026 02:40:27 GMT\nContent-Type: text/plain\nContent-Length: 13\nConnection: keep-alive\n\nHello, World!"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := &repeatReader{b: []byte(bc.in)}
			rr := newRespReader()
			var resp response
			b.ReportAllocs()
			for b.Loop() {
				if err := rr.readResponse(src, false, 1<<20, &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzParseResponse feeds arbitrary bytes to the parser, in reads of
// arbitrary sizes. The parser must not panic, must not claim more body
// than it read, and must accept only what net/http accepts, with the same
// status, body length and X-Worker.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Worker: 2\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nx\r\n0\r\nT: v\r\n\r\n",
		"garbage\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 5\nX-Worker: 2\n\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nhi",
		"HTTP/1.1 204\r\nX-Worker: 1\r\n\n",
		"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n",
		"HTTP/1.0 200 OK\n\nuntil close",
		"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 0\n\n",
		"HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		var src io.Reader = bytes.NewReader(in)
		if chunk > 0 {
			src = &chunkReader{r: src, n: int(chunk)}
		}
		rr := newRespReader()
		var resp response
		err := rr.readResponse(src, false, 1<<20, &resp)
		if err != nil {
			return
		}
		if resp.bodyLen > int64(len(in)) {
			t.Fatalf("body of %d bytes from %d bytes of input", resp.bodyLen, len(in))
		}
		// Differential check against net/http, for a final response
		// (ReadResponse does not skip 1xx).
		br := bufio.NewReader(bytes.NewReader(in))
		hr, herr := http.ReadResponse(br, nil)
		if herr != nil {
			if resp.status >= 200 && !bytes.HasPrefix(in, []byte("HTTP/1.1 1")) && !bytes.HasPrefix(in, []byte("HTTP/1.0 1")) {
				t.Fatalf("parser accepted what net/http refuses (%v): %q", herr, in)
			}
			return
		}
		if hr.StatusCode < 200 {
			return
		}
		body, berr := io.ReadAll(hr.Body)
		if berr != nil {
			t.Fatalf("parser accepted a body net/http refuses (%v): %q", berr, in)
		}
		if hr.StatusCode != resp.status || int64(len(body)) != resp.bodyLen {
			t.Fatalf("parser: status %d body %d; net/http: status %d body %d; input %q", resp.status, resp.bodyLen, hr.StatusCode, len(body), in)
		}
		wantWorker := int32(-1)
		if v := hr.Header.Get("X-Worker"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil && v[0] >= '0' && v[0] <= '9' {
				wantWorker = int32(n)
			}
		}
		if resp.worker != wantWorker {
			t.Fatalf("parser: worker %d; net/http's X-Worker %q; input %q", resp.worker, hr.Header.Get("X-Worker"), in)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}
