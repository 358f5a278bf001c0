package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		at   map[time.Duration]float64 // elapsed: rate per second
	}{
		{"5000", "5000/s", map[time.Duration]float64{0: 5000, time.Minute: 5000}},
		{" 5000/s ", "5000/s", map[time.Duration]float64{0: 5000}},
		{"500/100ms", "500/100ms (5000/s)", map[time.Duration]float64{0: 5000}},
		{"1000:20000", "linear 1000->20000/s", map[time.Duration]float64{0: 1000, 30 * time.Second: 10500, time.Minute: 20000}},
		{"20000:1000", "linear 20000->1000/s", map[time.Duration]float64{0: 20000, time.Minute: 1000}},
		{"sine:5000:2000:10s", "sine 5000±2000/s period 10s", map[time.Duration]float64{0: 5000, 2500 * time.Millisecond: 7000, 7500 * time.Millisecond: 3000}},
	} {
		p, err := ParseRate(tc.in, time.Minute)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := rateName(p); got != tc.name {
			t.Errorf("%q: named %q, want %q", tc.in, got, tc.name)
		}
		for at, want := range tc.at {
			if got := p.Rate(at); math.Abs(got-want) > want*1e-6 {
				t.Errorf("%q: rate at %v = %v, want %v", tc.in, at, got, want)
			}
		}
	}
	for _, in := range []string{"", "0", "-5", "fast", "5/x", "5/0s", "5:x", "0:100", "100:-1", "1:2:3", "sine:1", "sine:0:0:1s", "sine:100:100:1s", "sine:100:-1:1s", "sine:100:10:0s", "sine:a:b:c", "2000000000"} {
		if _, err := ParseRate(in, time.Minute); err == nil || !strings.HasPrefix(err.Error(), "rate ") {
			t.Errorf("%q: error %v, want one starting with \"rate\"", in, err)
		}
	}
	if _, err := ParseRate("1:2", 0); err == nil {
		t.Error("a ramp over no duration parsed")
	}
}

func TestCheck(t *testing.T) {
	ok := Options{URL: "http://127.0.0.1:8080/"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.URL = "" }, "no URL"},
		{func(o *Options) { o.URL = "ftp://h/" }, "not supported"},
		{func(o *Options) { o.URL = "127.0.0.1:8080" }, "scheme"},
		{func(o *Options) { o.URL = "http:///x" }, "no host"},
		{func(o *Options) { o.URL = "http://h:0/" }, "port"},
		{func(o *Options) { o.URL = "http://u:p@h/" }, "credentials"},
		{func(o *Options) { o.URL = "https://h/"; o.Engine = EngineFast }, "fast engine"},
		{func(o *Options) { o.HTTP2 = true; o.Engine = EngineFast }, "HTTP/2"},
		{func(o *Options) { o.Engine = "wrk" }, "unknown engine"},
		{func(o *Options) { o.Connections = -1 }, "connections"},
		{func(o *Options) { o.Duration = -time.Second }, "duration"},
		{func(o *Options) { o.Method = "GE T" }, "method"},
		{func(o *Options) { o.Header = map[string][]string{"Bad Name": {"x"}} }, "header name"},
		{func(o *Options) { o.Header = map[string][]string{"X": {"a\r\nInjected: 1"}} }, "line break"},
		{func(o *Options) { o.SeriesInterval = time.Microsecond }, "series interval"},
		{func(o *Options) { o.Pipeline = -1 }, "pipeline"},
		{func(o *Options) { o.Pipeline = maxPipeline + 1 }, "pipeline"},
		{func(o *Options) { o.Pipeline = 2; o.Engine = EngineVegeta }, "does not pipeline"},
		{func(o *Options) { o.Pipeline = 2; o.URL = "https://h/" }, "fast engine"},
		{func(o *Options) { o.Pipeline = 2; o.HTTP2 = true }, "fast engine"},
		{func(o *Options) { o.Pipeline = 2; o.NoKeepAlive = true }, "keep-alive"},
		// Issue 20, item 14: a schedule with no request in the duration,
		// and a rate that is none (vegeta's zero ConstantPacer is an
		// endless burst, a negative one stops at once).
		{func(o *Options) { o.Rate, _ = ParseRate("1/1h", time.Second); o.Duration = time.Second }, "no request"},
		{func(o *Options) {
			o.Rate, _ = ParseRate("sine:1:0:1h", time.Second)
			o.Duration = 500 * time.Millisecond
		}, "no request"},
		{func(o *Options) { o.Rate = vegeta.LinearPacer{Slope: 10} }, "rate"}, // from 0/0
		{func(o *Options) { o.Rate = vegeta.ConstantPacer{} }, "rate"},
		{func(o *Options) { o.Rate = vegeta.ConstantPacer{Freq: -5, Per: time.Second} }, "rate"},
	} {
		o := ok
		tc.mod(&o)
		if err := o.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", o, err, tc.want)
		}
	}
	if d := (Options{URL: "https://h/"}).withDefaults(); d.Engine != EngineVegeta {
		t.Errorf("https defaults to engine %q", d.Engine)
	}
	if d := (Options{URL: "http://h/"}).withDefaults(); d.Engine != EngineFast || d.Connections != 100 || d.Duration != 10*time.Second || d.MaxBody != 4<<20 || d.Pipeline != 1 {
		t.Errorf("defaults: %+v", d)
	}
}

// TestParseEngine: the engines' one parser, and Set, which a command
// line's flag calls.
func TestParseEngine(t *testing.T) {
	for _, e := range []Engine{EngineFast, EngineVegeta} {
		if got, err := ParseEngine(e.String()); err != nil || got != e {
			t.Errorf("ParseEngine(%q) = %q, %v", e, got, err)
		}
	}
	for _, name := range []string{"", "wrk", "Fast"} {
		if _, err := ParseEngine(name); err == nil || !strings.Contains(err.Error(), "want fast or vegeta") {
			t.Errorf("ParseEngine(%q): error %v, want one that names the engines", name, err)
		}
	}
	var e Engine
	if err := e.Set("vegeta"); err != nil || e != EngineVegeta {
		t.Errorf("Set(vegeta): %q, %v", e, err)
	}
	if err := e.Set("wrk"); err == nil || e != EngineVegeta {
		t.Errorf("Set(wrk): %q, %v; want an error and the engine unchanged", e, err)
	}
	if e.Type() != "engine" {
		t.Errorf("Type() = %q", e.Type())
	}
}
