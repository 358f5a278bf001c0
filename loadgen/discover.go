package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DiscoverPath is where a corebench server says how many workers it runs:
// a JSON object with at least "workers": N, N workers answering with
// X-Worker slots 0 to N-1. Every `bench serve` model answers it (the
// workload package's AboutPath); any other server may, to get fair
// fairness figures without --workers.
const DiscoverPath = "/.well-known/corebench"

// DiscoverTimeout bounds DiscoverWorkers.
const DiscoverTimeout = 2 * time.Second

// maxDiscovered bounds a believable worker count.
const maxDiscovered = 1 << 16

// DiscoverWorkers asks the server of o.URL how many workers it runs, for
// Options.Workers: one GET of DiscoverPath on a connection of its own,
// with o.Header and o.TLSConfig, bounded by DiscoverTimeout (or o.Timeout
// when shorter). It returns 0, and why, when the server cannot tell: it is
// not a corebench server, or it did not answer in time.
func DiscoverWorkers(ctx context.Context, o Options) (int, error) {
	u, err := ParseURL(o.URL)
	if err != nil {
		return 0, err
	}
	o = o.withDefaults()
	target := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: DiscoverPath}).String()
	ctx, cancel := context.WithTimeout(ctx, min(DiscoverTimeout, o.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	for name, vs := range o.Header {
		if http.CanonicalHeaderKey(name) == "Host" && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		req.Header[name] = vs
	}
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: o.TLSConfig}
	if o.Engine == EngineVegeta {
		tr.Proxy = http.ProxyFromEnvironment // as the vegeta engine does; the fast one never proxies
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // the URL is said once
	}
	if err != nil {
		return 0, fmt.Errorf("ask %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %s: not a corebench server", target, resp.Status)
	}
	var about struct {
		Workers *int `json:"workers"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&about); err != nil {
		return 0, fmt.Errorf("%s: %v: not a corebench server", target, err)
	}
	if about.Workers == nil || *about.Workers < 1 || *about.Workers > maxDiscovered {
		return 0, fmt.Errorf("%s holds no worker count from 1 to %d", target, maxDiscovered)
	}
	return *about.Workers, nil
}
