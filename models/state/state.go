// Package state opens a store outside the server for the state a cluster
// must share: the counter behind /counter/shared and the sessions behind
// /session. Redis is the answer the cluster tutorials give; the model's
// own alternatives (the prefork master's counter, per-process sessions)
// need no store.
//
// Each process of a server opens its own client: a store is reached over
// the network, never through memory the processes share.
package state

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/corebench/corebench/workload"
)

// Store is a shared counter and session store.
type Store interface {
	workload.Counter
	workload.Sessions
	Close() error
}

// Check validates a store URL without connecting: redis://HOST:PORT[/DB],
// rediss:// or unix:///path/to/socket.
func Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bad store URL %q: %v", rawURL, err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return fmt.Errorf("bad store URL %q: want redis://HOST:PORT (or rediss://, unix://)", rawURL)
	}
	if _, err := redis.ParseURL(rawURL); err != nil {
		return fmt.Errorf("bad store URL %q: %v", rawURL, err)
	}
	return nil
}

// Open connects to the store at rawURL and checks it answers. Keys start
// with prefix, so servers sharing one Redis keep their state apart.
func Open(ctx context.Context, rawURL, prefix string) (Store, error) {
	if err := Check(rawURL); err != nil {
		return nil, err
	}
	opt, _ := redis.ParseURL(rawURL)
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach the store at %s: %v", rawURL, err)
	}
	return &redisStore{c: c, prefix: prefix}, nil
}

// ttl is how long a server's keys outlive their last use.
const ttl = 24 * time.Hour

type redisStore struct {
	c      *redis.Client
	prefix string
}

// Add increments the counter in one round trip: INCRBY and EXPIRE in a
// pipeline.
func (r *redisStore) Add(ctx context.Context, delta int64) (int64, error) {
	key := r.prefix + "counter"
	var incr *redis.IntCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.IncrBy(ctx, key, delta)
		p.Expire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return incr.Val(), nil
}

func (r *redisStore) Put(ctx context.Context, id, user string) error {
	return r.c.Set(ctx, r.prefix+"session:"+id, user, ttl).Err()
}

func (r *redisStore) Get(ctx context.Context, id string) (string, error) {
	v, err := r.c.Get(ctx, r.prefix+"session:"+id).Result()
	if err == redis.Nil {
		return "", nil
	}
	return v, err
}

func (r *redisStore) Close() error { return r.c.Close() }
