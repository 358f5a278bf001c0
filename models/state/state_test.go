package state

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/redistest"
)

func TestRedisStore(t *testing.T) {
	url := redistest.Start(t)
	ctx := context.Background()
	a, err := Open(ctx, url, "test:a:")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url, "test:a:") // another process of the same server
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for _, s := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := s.Add(ctx, 1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, err := a.Add(ctx, 0); err != nil || v != 100 {
		t.Errorf("counter after 100 increments from two clients: %d, %v", v, err)
	}
	other, _ := Open(ctx, url, "test:other:")
	defer other.Close()
	if v, _ := other.Add(ctx, 1); v != 1 {
		t.Errorf("another server's counter starts at %d", v)
	}

	if err := a.Put(ctx, "s1", "ada"); err != nil {
		t.Fatal(err)
	}
	if u, err := b.Get(ctx, "s1"); err != nil || u != "ada" {
		t.Errorf("session from the other client: %q, %v", u, err)
	}
	if u, err := b.Get(ctx, "nope"); err != nil || u != "" {
		t.Errorf("unknown session: %q, %v", u, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, bad := range []string{"http://127.0.0.1:6379", "redis://[::1", "127.0.0.1:6379"} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
	start := time.Now()
	_, err := Open(context.Background(), "redis://127.0.0.1:1", "x:")
	if err == nil || !strings.Contains(err.Error(), "cannot reach the store") {
		t.Errorf("Open of a closed port: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Open took %v to fail", time.Since(start))
	}
}
