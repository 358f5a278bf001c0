package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/results"
)

// UnreachableError is Run's error when no connection to the target could
// be made at all.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %v", e.Addr, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// Run sends requests as o says and returns what it measured.
//
// Cancelling ctx stops the run early: requests in flight are abandoned,
// and the summary covers what completed before, with Interrupted set;
// the error is nil (it is ctx's error when the run had not started yet). When the target cannot be reached at all, Run fails
// fast with an *UnreachableError and no summary; when the connections need
// more file descriptors than are free, with a *DescriptorError, before it
// opens any. When Output fails, Run stops and returns the summary so far
// with the error.
//
// In a closed loop a connection that cannot open a connection (error kind
// connect: out of descriptors or local ports) or is refused tries again
// after a back-off, 1 ms doubling to 100 ms, not at once.
func Run(ctx context.Context, o Options) (*results.Summary, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	explicitMax := o.MaxConnections != 0
	o, err := fitDescriptors(o.withDefaults(), explicitMax)
	if err != nil {
		return nil, err
	}
	a := newAttack(o)
	defer a.cancel()

	var eng engine
	switch o.Engine {
	case EngineFast:
		eng, err = newFastEngine(a)
	default:
		eng, err = newVegetaEngine(a)
	}
	if err != nil {
		return nil, err
	}
	if err := eng.connect(ctx); err != nil {
		eng.abandon()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		eng.abandon()
		return nil, err
	}
	if a.startLate, err = waitUntil(ctx, o.StartAt); err != nil {
		eng.abandon()
		return nil, err
	}

	a.origin = time.Now()
	stop := context.AfterFunc(ctx, func() { a.abort(nil) })
	defer stop()
	col := newCollector(a)
	engineDone := make(chan struct{})
	colDone := make(chan struct{})
	go func() {
		col.loop(engineDone)
		close(colDone)
	}()
	eng.drive()
	finished := a.now()
	cpuEnd, machineEnd := cpuTime(), proc.Machine()
	close(engineDone)
	<-colDone

	var unreachable *UnreachableError
	if errors.As(a.err, &unreachable) {
		return nil, a.err
	}
	return col.summary(finished, cpuEnd, machineEnd), a.err
}

// Back-off after a failed dial in a closed loop: from minBackoff,
// doubling with each failure in a row, up to maxBackoff.
const (
	minBackoff = time.Millisecond
	maxBackoff = 100 * time.Millisecond
)

// backoff is the wait before the next dial after failed ones; its zero
// value is for no failure yet.
type backoff struct{ d time.Duration }

// next returns the wait after one more failure.
func (b *backoff) next() time.Duration {
	b.d = min(max(2*b.d, minBackoff), maxBackoff)
	return b.d
}

// pause waits for d, or until ctx or abort ends; false when they ended
// it.
func pause(ctx context.Context, abort <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-abort:
	}
	return false
}

// waitUntil returns at t, or at once with how late it is when t is past
// (0 for a zero t), or with ctx's error when ctx ends first.
func waitUntil(ctx context.Context, t time.Time) (late time.Duration, err error) {
	d := time.Until(t)
	if t.IsZero() {
		return 0, nil
	}
	if d <= 0 {
		return -d, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// engine sends the requests of an attack.
type engine interface {
	// connect prepares the attack before the clock starts: the fast
	// engine opens its first connections and fails when none could be
	// opened.
	connect(ctx context.Context) error
	// drive sends requests until the end of the attack or an abort, and
	// returns once every request it started has been recorded.
	drive()
	// abandon releases what connect opened, for an attack that never
	// starts.
	abandon()
}

// attack is one call of Run: the state its engine and its collector
// share.
type attack struct {
	o       Options
	open    bool
	origin  time.Time // start of warm-up; times in records are ns since then
	measure int64     // ns offset of the start of measurement
	end     int64     // ns offset of the end of sending
	// startLate is how late past Options.StartAt the run started.
	startLate time.Duration

	mu   sync.Mutex
	bufs []*recordBuf

	msgs msgTable

	stopping  atomic.Bool // no new requests
	aborted   atomic.Bool // stopped early; requests ending after abortAt do not count
	abortAt   atomic.Int64
	abortCh   chan struct{}
	abortOnce sync.Once
	ctx       context.Context // cancelled on abort, for dials
	cancel    context.CancelFunc
	err       error // set once, by abort, before abortCh closes

	opened atomic.Int64 // connections opened
	// connBusy counts measured open-loop requests that left late because
	// every connection was waiting for a response, directly or while the
	// dispatcher caught up (the fast engine): the server's backlog, not
	// the generator's.
	connBusy atomic.Int64
}

func newAttack(o Options) *attack {
	ctx, cancel := context.WithCancel(context.Background())
	return &attack{
		o:       o,
		open:    o.Rate != nil,
		measure: int64(o.Warmup),
		end:     int64(o.Warmup + o.Duration),
		abortCh: make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
	}
}

// openWaiter returns a waiter that an abort wakes, and the function that
// releases it; on failure it aborts the run and returns nil.
func (a *attack) openWaiter() (*waiter, func()) {
	w, err := newWaiter()
	if err != nil {
		a.abort(err)
		return nil, nil
	}
	stop := context.AfterFunc(a.ctx, func() { w.close() })
	return w, func() { stop(); w.close() }
}

// now returns ns since the origin.
func (a *attack) now() int64 { return int64(time.Since(a.origin)) }

func (a *attack) newRecordBuf() *recordBuf {
	s := &recordBuf{}
	a.mu.Lock()
	a.bufs = append(a.bufs, s)
	a.mu.Unlock()
	return s
}

// abort stops the run now. err, if any, becomes Run's error.
func (a *attack) abort(err error) {
	a.abortOnce.Do(func() {
		a.abortAt.Store(a.now())
		a.err = err
		a.aborted.Store(true)
		a.stopping.Store(true)
		close(a.abortCh)
		a.cancel()
		a.mu.Lock()
		bufs := slices.Clone(a.bufs)
		a.mu.Unlock()
		for _, s := range bufs {
			s.mu.Lock()
			if s.conn != nil {
				s.conn.Close()
			}
			s.mu.Unlock()
		}
	})
}

// collector turns the record buffers into the summary, every
// SeriesInterval, on one goroutine.
type collector struct {
	a    *attack
	agg  *aggregator
	bufs []*recordBuf // the run's, as of the last step

	cpuMu        sync.Mutex
	cpuStart     time.Duration
	cpuTaken     bool
	machineStart []proc.CPUTimes // every CPU's times when measurement began

	out     []record // batch for Output
	outErr  error
	seq     uint64
	res     vegeta.Result
	headers map[int32]http.Header
	status  map[uint16]string
}

func newCollector(a *attack) *collector {
	return &collector{
		a:       a,
		agg:     newAggregator(a.o.SeriesInterval, a.open, a.o.LateThreshold, a.o.Duration),
		headers: map[int32]http.Header{},
		status:  map[uint16]string{},
	}
}

func (c *collector) loop(engineDone <-chan struct{}) {
	a := c.a
	if a.measure == 0 {
		c.takeCPU()
	} else {
		t := time.AfterFunc(time.Duration(a.measure), c.takeCPU)
		defer t.Stop()
	}
	every := min(a.o.SeriesInterval, collectEvery)
	tick := time.NewTicker(every)
	defer tick.Stop()
	lastReport := int64(0)
	for {
		select {
		case <-tick.C:
			c.step(false)
			if now := a.now(); now-lastReport >= int64(a.o.SeriesInterval)-int64(every)/2 {
				lastReport = now
				c.report(now)
			}
		case <-engineDone:
			c.step(true)
			c.report(a.now())
			return
		}
	}
}

// collectEvery is how often the collector takes the connections'
// records: often enough that they are still in the CPU's cache, both
// where connections write them and where the collector reads them.
const collectEvery = 10 * time.Millisecond

func (c *collector) takeCPU() {
	c.cpuMu.Lock()
	if !c.cpuTaken {
		c.cpuStart, c.cpuTaken = cpuTime(), true
		c.machineStart = proc.Machine()
	}
	c.cpuMu.Unlock()
}

// step folds in every buffer's new records; it finalizes the slices that
// ended an interval ago or more, or all of them when final.
func (c *collector) step(final bool) {
	a := c.a
	now := a.now()
	a.mu.Lock()
	c.bufs = append(c.bufs, a.bufs[len(c.bufs):]...) // buffers are only ever added
	a.mu.Unlock()
	abortAt := int64(-1)
	if a.aborted.Load() {
		abortAt = a.abortAt.Load()
	}
	for _, s := range c.bufs {
		recs := s.swap()
		for i := range recs {
			rec := &recs[i]
			if rec.start < a.measure || abortAt >= 0 && rec.start+rec.latency > abortAt {
				continue // warm-up, or cut short by the abort
			}
			rec.start -= a.measure
			c.agg.add(rec)
			if rec.kind == kindUnsent {
				continue // never sent: no result to write
			}
			if rec.kind != kindOK && c.agg.needExample(rec.kind) {
				c.agg.setExample(rec.kind, c.errText(rec))
			}
			if a.o.Output != nil && c.outErr == nil {
				c.out = append(c.out, *rec)
			}
		}
	}
	c.write()
	if !final {
		c.agg.finalize((now - a.measure - int64(a.o.SeriesInterval)) / int64(a.o.SeriesInterval))
	}
}

// report calls the Progress callback.
func (c *collector) report(now int64) {
	a := c.a
	if a.o.Progress != nil {
		p := Progress{Duration: a.o.Duration, Requests: c.agg.requests, Errors: c.agg.errors}
		if now < a.measure {
			p.Warmup, p.Elapsed = true, time.Duration(now)
		} else {
			p.Elapsed = time.Duration(min(now-a.measure, int64(a.o.Duration)))
		}
		if s, ok := c.agg.last(); ok {
			p.RPS = s.RPS
		}
		a.o.Progress(p)
	}
}

// write sends the batch to Output in time order.
func (c *collector) write() {
	if len(c.out) == 0 {
		return
	}
	slices.SortFunc(c.out, func(a, b record) int { return int(a.start - b.start) })
	a := c.a
	for i := range c.out {
		rec := &c.out[i]
		c.res = vegeta.Result{
			Attack:    a.o.Name,
			Seq:       c.seq,
			Code:      rec.status,
			Timestamp: a.origin.Add(time.Duration(rec.start + a.measure)).Round(0),
			Latency:   time.Duration(rec.latency),
			BytesOut:  uint64(rec.bytesOut),
			BytesIn:   uint64(rec.bytesIn),
			Error:     c.errText(rec),
			Method:    a.o.Method,
			URL:       a.o.URL,
			Headers:   c.header(rec.worker),
		}
		c.seq++
		if err := a.o.Output(&c.res); err != nil {
			c.outErr = err
			a.abort(fmt.Errorf("write results: %w", err))
			break
		}
	}
	c.out = c.out[:0]
}

// errText is the error of a record as vegeta would write it.
func (c *collector) errText(rec *record) string {
	switch {
	case rec.kind == kindOK:
		return ""
	case rec.kind == kindBadStatus:
		t, ok := c.status[rec.status]
		if !ok {
			t = strconv.Itoa(int(rec.status)) + " " + http.StatusText(int(rec.status))
			c.status[rec.status] = t
		}
		return t
	case rec.msg != 0:
		return c.a.msgs.get(rec.msg)
	}
	return kindPhrase[rec.kind]
}

// header returns the (shared, read-only) headers of a result from worker w.
func (c *collector) header(w int32) http.Header {
	if w < 0 {
		return nil
	}
	h, ok := c.headers[w]
	if !ok {
		h = http.Header{"X-Worker": {strconv.Itoa(int(w))}}
		c.headers[w] = h
	}
	return h
}

// summary assembles the run's summary; finished is when the engine
// returned, cpuEnd the process's CPU time then.
func (c *collector) summary(finished int64, cpuEnd time.Duration, machineEnd []proc.CPUTimes) *results.Summary {
	a, o := c.a, c.a.o
	// The attack: the planned duration, or up to the abort. The wait for
	// the last answers after it is the aggregator's to say apart: a
	// request stuck until its timeout must not stretch the rates of what
	// the server did meanwhile (vegeta's Duration and Wait).
	dur := int64(o.Duration)
	if a.aborted.Load() {
		dur = min(max(min(finished, a.abortAt.Load())-a.measure, 0), dur)
	}
	s := &results.Summary{
		Engine:      string(o.Engine),
		Target:      o.URL,
		Method:      o.Method,
		Mode:        results.ModeClosed,
		Connections: o.Connections,
		KeepAlive:   !o.NoKeepAlive,
		Pipeline:    o.Pipeline,
		Workers:     o.Workers,
		Start:       a.origin.Add(time.Duration(a.measure)).Round(0),
		Interrupted: a.aborted.Load() && a.abortAt.Load() < a.end,
		Segment:     o.Segment.String(),
	}
	if !o.StartAt.IsZero() {
		at := o.StartAt.UTC()
		s.StartAt = &at
		s.StartLateMs = float64(a.startLate) / 1e6
	}
	if a.open {
		s.Mode, s.Rate = results.ModeOpen, rateName(o.Rate)
	}
	c.agg.finish(s, dur)
	c.cpuMu.Lock()
	if c.cpuTaken {
		cpu := max(cpuEnd-c.cpuStart, 0)
		s.LoadgenCPU = cpu.Seconds()
		s.LoadgenCores = cores(cpu, time.Duration(max(finished-a.measure, 0)))
		s.MachineCPU = proc.Busy(c.machineStart, machineEnd)
		s.LoadgenCPUs = affinityList()
	}
	c.cpuMu.Unlock()
	s.CoresAllowed = o.AllowedCPUs
	s.ConnectionsOpened = a.opened.Load()
	if a.open {
		s.Late.ConnBusy = min(a.connBusy.Load(), s.Late.Count)
	}
	saturation(s)
	return s
}
