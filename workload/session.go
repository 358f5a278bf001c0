package workload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
)

// Sessions stores who a session belongs to.
type Sessions interface {
	Put(ctx context.Context, id, user string) error
	// Get returns the user of session id, or "" when it is unknown.
	Get(ctx context.Context, id string) (string, error)
}

// maxSessions bounds the per-process session store; past it the store
// starts over, which a lesson about in-memory sessions can afford.
const maxSessions = 100_000

// LocalSessions is the in-memory session store of one process: exactly
// the global object the cluster tutorials warn about. A session made on
// one worker is unknown to the others.
type LocalSessions struct {
	mu sync.Mutex
	m  map[string]string // session id -> user
}

// Put records session id for user.
func (s *LocalSessions) Put(_ context.Context, id, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxSessions {
		s.m = map[string]string{}
	}
	s.m[id] = user
	return nil
}

// Get returns the user of session id, or "".
func (s *LocalSessions) Get(_ context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id], nil
}

// validUser reports whether name is 1 to 64 letters, digits, '.', '_' or
// '-'. (A regexp would do, but would sit compiled in every server's heap,
// where the garbage collector scans it on every cycle.)
func validUser(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

const sessionCookie = "corebench_session"

// session serves /session (log in: ?user=NAME sets a cookie) and
// /session/me (who am I, from the session store: this process's memory
// unless the server was given a shared store).
func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/session" {
		user := r.URL.Query().Get("user")
		if user == "" {
			user = "guest"
		}
		if !validUser(user) {
			h.error(w, http.StatusBadRequest, fmt.Sprintf("user=%q: want 1 to 64 letters, digits, '.', '_' or '-'", user))
			return
		}
		var b [16]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		if err := h.cfg.Sessions.Put(r.Context(), id, user); err != nil {
			h.error(w, http.StatusServiceUnavailable, "session store unavailable: "+err.Error())
			return
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true})
		h.write(w, http.StatusOK, hdrJSON, fmt.Appendf(nil, `{"session":%q,"user":%q,"worker":%d,"pid":%d}`, id, user, h.cfg.Slot, h.cfg.PID))
		return
	}
	var user string
	if c, err := r.Cookie(sessionCookie); err == nil {
		if user, err = h.cfg.Sessions.Get(r.Context(), c.Value); err != nil {
			h.error(w, http.StatusServiceUnavailable, "session store unavailable: "+err.Error())
			return
		}
	}
	if user == "" {
		h.write(w, http.StatusUnauthorized, hdrJSON, fmt.Appendf(nil, `{"error":"no session known to this worker","worker":%d,"pid":%d}`, h.cfg.Slot, h.cfg.PID))
		return
	}
	h.write(w, http.StatusOK, hdrJSON, fmt.Appendf(nil, `{"user":%q,"worker":%d,"pid":%d}`, user, h.cfg.Slot, h.cfg.PID))
}
