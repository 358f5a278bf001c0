package loadgen

import (
	"bytes"
	"io"
)

// The fast engine's HTTP/1.1 response parser. It works over one read
// buffer per connection and allocates nothing per response: it reads the
// status line and the headers it needs (Content-Length, Transfer-Encoding,
// Connection, X-Worker), skips the body without storing it, and leaves
// any bytes that follow in the buffer for the next response.
//
// Line ends are net/http's: in the head, a line ends in LF and a CR
// before it is ignored (RFC 9112, 2.2, lets a recipient do so), while
// chunked framing takes CRLF only (RFC 9112 erratum 7633; net/http refuses
// a bare LF there). A CR not followed by LF is malformed, and is refused as
// soon as the byte after it arrives: a server ending its lines in CR alone
// fails at once instead of at the timeout.
//
// It is stricter than net/http where strictness costs nothing: obs-fold is
// refused, only HTTP/1.0 and HTTP/1.1 are spoken. Everything it accepts,
// net/http accepts too (FuzzParseResponse checks).

// parseError is a response that is not valid HTTP/1.1, or too large.
type parseError struct{ msg string }

func (e *parseError) Error() string { return "malformed response: " + e.msg }

// The parser's errors, allocated once.
var (
	errStatusLine   = &parseError{"bad status line"}
	errVersion      = &parseError{"not HTTP/1.0 or HTTP/1.1"}
	errStatusCode   = &parseError{"status code not in 100-599"}
	errHeaderLine   = &parseError{"bad header line"}
	errHeaderBytes  = &parseError{"status line and headers over 64 KiB"}
	errCL           = &parseError{"bad Content-Length"}
	errTE           = &parseError{"unsupported Transfer-Encoding"}
	errChunk        = &parseError{"bad chunk"}
	errBareCR       = &parseError{"CR not followed by LF"}
	errSwitch       = &parseError{"101 Switching Protocols is not supported"}
	errBodyTooLarge = &parseError{"body over the size limit (max body)"}
)

// readBufSize is the initial read buffer of a connection; it grows to
// maxHeaderBytes when a response's headers do not fit.
const readBufSize = 4 << 10

// response is what the parser keeps of one response.
type response struct {
	status  int
	worker  int32 // X-Worker, -1 when absent or not a number
	bodyLen int64
	close   bool // the connection cannot carry another request
}

// respReader reads responses from one connection.
type respReader struct {
	buf  []byte
	r, w int // unread data is buf[r:w]
}

func newRespReader() *respReader { return &respReader{buf: make([]byte, readBufSize)} }

// reset forgets buffered data, for a new connection.
func (rr *respReader) reset() { rr.r, rr.w = 0, 0 }

// fill reads more data from src into the buffer, compacting or growing it
// when full. got says whether some of the current response was read
// already, which decides between io.EOF and io.ErrUnexpectedEOF.
func (rr *respReader) fill(src io.Reader, got bool) error {
	if rr.w == len(rr.buf) {
		switch {
		case rr.r > 0:
			rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
			rr.r = 0
		case len(rr.buf) >= maxHeaderBytes:
			return errHeaderBytes
		default:
			b := make([]byte, min(2*len(rr.buf), maxHeaderBytes))
			rr.w = copy(b, rr.buf[rr.r:rr.w])
			rr.r, rr.buf = 0, b
		}
	}
	n, err := src.Read(rr.buf[rr.w:])
	rr.w += n
	if n > 0 {
		return nil
	}
	if err == io.EOF {
		if got || rr.w > rr.r {
			return io.ErrUnexpectedEOF
		}
		return io.EOF
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readResponse reads one complete response from src into resp. head says
// the request was HEAD (no body follows). It returns io.EOF when src ended
// before the first byte, io.ErrUnexpectedEOF when it ended mid-response,
// a *parseError for a malformed response, or src's error.
func (rr *respReader) readResponse(src io.Reader, head bool, maxBody int64, resp *response) error {
	*resp = response{worker: -1}
	got := false // some of this response was read: see fill
	for {
		if rr.r == rr.w {
			if err := rr.fill(src, got); err != nil {
				return err
			}
		}
		// Usually the whole head is in the buffer already (exchange reads
		// ahead): parsed in one pass, without searching for its end first.
		n, err := parseHead(rr.buf[rr.r:rr.w], resp)
		if err == nil && n == 0 {
			if err = rr.waitHead(src); err == nil {
				n, err = parseHead(rr.buf[rr.r:rr.w], resp)
			}
		}
		if err != nil {
			return err
		}
		rr.r += n
		if resp.status >= 200 {
			break
		}
		if resp.status == 101 {
			return errSwitch
		}
		// 1xx: an interim response, the real one follows.
		got = true
	}
	switch {
	case head || resp.status == 204 || resp.status == 304:
		resp.bodyLen = 0
		return nil
	case resp.bodyLen == chunkedBody:
		resp.bodyLen = 0
		return rr.skipChunked(src, maxBody, resp)
	case resp.bodyLen >= 0:
		if resp.bodyLen > maxBody {
			resp.close = true
			return errBodyTooLarge
		}
		return rr.skip(src, resp.bodyLen)
	default:
		// No length: the body runs until the server closes.
		resp.bodyLen, resp.close = 0, true
		for {
			resp.bodyLen += int64(rr.w - rr.r)
			rr.r, rr.w = 0, 0
			if resp.bodyLen > maxBody {
				return errBodyTooLarge
			}
			n, err := src.Read(rr.buf)
			rr.w = n
			if n == 0 && err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
}

// waitHead reads until the buffer holds a whole head, up to its empty
// line, or fails as soon as what it holds is malformed by a bare CR.
// Offsets are from rr.r, which fill may move.
func (rr *respReader) waitHead(src io.Reader) error {
	line, lf, cr := 0, 0, 0 // the current line's start; where the searches for LF and CR resume
	for {
		b := rr.buf[rr.r:rr.w]
		for {
			i := bytes.IndexByte(b[lf:], '\n')
			if i < 0 {
				break
			}
			lf += i
			if lf == line || lf == line+1 && b[line] == '\r' {
				return nil
			}
			lf++
			line = lf
		}
		lf = len(b)
		for {
			i := bytes.IndexByte(b[cr:], '\r')
			if i < 0 {
				cr = len(b)
				break
			}
			cr += i + 1
			if cr == len(b) {
				cr-- // look again when the next byte is here
				break
			}
			if b[cr] != '\n' {
				return errBareCR
			}
		}
		if err := rr.fill(src, true); err != nil {
			return err
		}
	}
}

// Body length markers while parsing headers.
const (
	noLength    = -1
	chunkedBody = -2
)

// parseHead parses the status line and headers at the start of b and
// returns their length up to and with the empty line that ends them, or 0
// when b holds only part of them and no line so far is malformed.
func parseHead(b []byte, resp *response) (int, error) {
	*resp = response{worker: -1}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, nil
	}
	line := trimCR(b[:i])
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		if len(line) >= 5 && string(line[:5]) == "HTTP/" {
			return 0, errVersion
		}
		return 0, errStatusLine
	}
	var http10 bool
	switch line[7] {
	case '0':
		http10 = true
	case '1':
	default:
		return 0, errVersion
	}
	d0, d1, d2 := line[9]-'0', line[10]-'0', line[11]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 || len(line) > 12 && line[12] != ' ' {
		return 0, errStatusLine
	}
	resp.status = int(d0)*100 + int(d1)*10 + int(d2)
	if resp.status < 100 || resp.status > 599 {
		return 0, errStatusCode
	}
	for _, c := range line[12:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return 0, errStatusLine
		}
	}

	resp.bodyLen = noLength
	keepAlive, closeConn, sawWorker := false, false, false
	var cl []byte // the first Content-Length
	sawTE := false
	pos := i + 1 // of the next line
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return 0, nil
		}
		line := trimCR(b[pos : pos+i])
		pos += i + 1
		if len(line) == 0 {
			break
		}
		name, v, ok := splitHeader(line)
		if !ok {
			return 0, errHeaderLine
		}
		switch len(name) {
		case len("content-length"):
			if !eqFold(name, "content-length") {
				continue
			}
			if cl != nil {
				// Repeated: net/http accepts identical values only.
				if !bytes.Equal(v, cl) {
					return 0, errCL
				}
				continue
			}
			n, ok := parseDecimal(v)
			if !ok {
				return 0, errCL
			}
			cl = v
			if resp.bodyLen != chunkedBody {
				resp.bodyLen = n
			}
		case len("transfer-encoding"):
			if !eqFold(name, "transfer-encoding") {
				continue
			}
			if sawTE || !eqFold(v, "chunked") {
				return 0, errTE
			}
			sawTE = true
			if !http10 {
				// HTTP/1.0 has no transfer codings; net/http ignores them too.
				resp.bodyLen = chunkedBody
			}
		case len("connection"):
			if !eqFold(name, "connection") {
				continue
			}
			for len(v) > 0 {
				tok := v
				if j := bytes.IndexByte(v, ','); j >= 0 {
					tok, v = v[:j], v[j+1:]
				} else {
					v = nil
				}
				tok = trimOWS(tok)
				switch {
				case eqFold(tok, "close"):
					closeConn = true
				case eqFold(tok, "keep-alive"):
					keepAlive = true
				}
			}
		case len("x-worker"):
			if !eqFold(name, "x-worker") {
				continue
			}
			if sawWorker {
				continue
			}
			sawWorker = true
			for len(v) > 1 && v[0] == '0' {
				v = v[1:] // leading zeros, as many as strconv takes
			}
			if n, ok := parseDecimal(v); ok && n <= 1<<31-1 {
				resp.worker = int32(n)
			}
		}
	}
	if resp.bodyLen == chunkedBody && cl != nil {
		// Both: Transfer-Encoding wins, and the connection is not to be
		// trusted with another request (RFC 9112, 6.3).
		closeConn = true
	}
	resp.close = closeConn || http10 && !keepAlive
	return pos, nil
}

// trimCR drops the CR of a line's CRLF, if it has one.
func trimCR(l []byte) []byte {
	if n := len(l); n > 0 && l[n-1] == '\r' {
		return l[:n-1]
	}
	return l
}

// skip discards n body bytes.
func (rr *respReader) skip(src io.Reader, n int64) error {
	for {
		avail := int64(rr.w - rr.r)
		if avail >= n {
			rr.r += int(n)
			return nil
		}
		n -= avail
		rr.r, rr.w = 0, 0
		if err := rr.fill(src, true); err != nil {
			return err
		}
	}
}

// line returns the next line of a chunked body without its CRLF, reading
// more as needed. Like net/http it takes CRLF only, and a line of at most
// 4 KiB with it; a CR before the end fails as soon as a byte follows it.
func (rr *respReader) line(src io.Reader) ([]byte, error) {
	scan := 0 // offset from rr.r, which fill may move
	for {
		b := rr.buf[rr.r:rr.w]
		if i := bytes.IndexByte(b[scan:], '\n'); i >= 0 {
			end := scan + i
			if end == 0 || b[end-1] != '\r' || end >= 4<<10 {
				return nil, errChunk
			}
			rr.r += end + 1
			return b[:end-1], nil
		}
		if i := bytes.IndexByte(b, '\r'); i >= 0 && i < len(b)-1 {
			return nil, errBareCR
		}
		if len(b) >= 4<<10 {
			return nil, errChunk
		}
		scan = len(b)
		if err := rr.fill(src, true); err != nil {
			return nil, err
		}
	}
}

// skipChunked discards a chunked body and its trailers.
func (rr *respReader) skipChunked(src io.Reader, maxBody int64, resp *response) error {
	for {
		l, err := rr.line(src)
		if err != nil {
			return err
		}
		if j := bytes.IndexByte(l, ';'); j >= 0 {
			if bytes.IndexByte(l[j:], '\r') >= 0 {
				return errBareCR // line only looks for one before the LF
			}
			l = l[:j]
		}
		for len(l) > 0 && (l[len(l)-1] == ' ' || l[len(l)-1] == '\t') {
			l = l[:len(l)-1]
		}
		if len(l) == 0 || len(l) > 15 {
			return errChunk
		}
		var size int64
		for _, c := range l {
			switch {
			case '0' <= c && c <= '9':
				c -= '0'
			case 'a' <= c && c <= 'f':
				c -= 'a' - 10
			case 'A' <= c && c <= 'F':
				c -= 'A' - 10
			default:
				return errChunk
			}
			size = size<<4 | int64(c)
		}
		if size == 0 {
			break
		}
		resp.bodyLen += size
		if resp.bodyLen > maxBody {
			resp.close = true
			return errBodyTooLarge
		}
		if err := rr.skip(src, size); err != nil {
			return err
		}
		if l, err := rr.line(src); err != nil {
			return err
		} else if len(l) != 0 {
			return errChunk
		}
	}
	// Trailers, up to an empty line.
	for {
		l, err := rr.line(src)
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		if _, _, ok := splitHeader(l); !ok {
			return errChunk
		}
	}
}

// splitHeader splits a header line (without CRLF) into its name and its
// value without surrounding spaces; ok is false when the name is not a
// token or the value holds control characters.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name = line[:colon]
	for _, c := range name {
		if !isTokenChar(c) {
			return nil, nil, false
		}
	}
	value = line[colon+1:]
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, trimOWS(value), true
}

// parseDecimal parses 1 to 18 ASCII digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// trimOWS trims spaces and tabs at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// eqFold reports whether b equals lower, ignoring the case of ASCII letters.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, l := b[i], lower[i]
		if c != l && !('a' <= l && l <= 'z' && c == l-('a'-'A')) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isSeparator[c]
}

var isSeparator = [128]bool{'"': true, '(': true, ')': true, ',': true, '/': true, ':': true, ';': true,
	'<': true, '=': true, '>': true, '?': true, '@': true, '[': true, '\\': true, ']': true, '{': true, '}': true}
