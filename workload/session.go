package workload

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sync"
)

// maxSessions bounds the per-process session store; past it the store
// starts over, which a lesson about in-memory sessions can afford.
const maxSessions = 100_000

// sessions is the in-memory session store of one process: exactly the
// global object the cluster tutorials warn about. A session made on one
// worker is unknown to the others.
type sessions struct {
	mu sync.Mutex
	m  map[string]string // session id -> user
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

const sessionCookie = "corebench_session"

// session serves /session (log in: ?user=NAME sets a cookie) and
// /session/me (who am I, read from this process's memory).
func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	s := &h.sessions
	if r.URL.Path == "/session" {
		user := r.URL.Query().Get("user")
		if user == "" {
			user = "guest"
		}
		if !userName.MatchString(user) {
			h.error(w, http.StatusBadRequest, fmt.Sprintf("user=%q: want 1 to 64 letters, digits, '.', '_' or '-'", user))
			return
		}
		var b [16]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		s.mu.Lock()
		if s.m == nil || len(s.m) >= maxSessions {
			s.m = map[string]string{}
		}
		s.m[id] = user
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true})
		h.write(w, http.StatusOK, hdrJSON, fmt.Appendf(nil, `{"session":%q,"user":%q,"worker":%d,"pid":%d}`, id, user, h.cfg.Slot, h.cfg.PID))
		return
	}
	c, err := r.Cookie(sessionCookie)
	var user string
	if err == nil {
		s.mu.Lock()
		user = s.m[c.Value]
		s.mu.Unlock()
	}
	if user == "" {
		h.write(w, http.StatusUnauthorized, hdrJSON, fmt.Appendf(nil, `{"error":"no session known to this worker","worker":%d,"pid":%d}`, h.cfg.Slot, h.cfg.PID))
		return
	}
	h.write(w, http.StatusOK, hdrJSON, fmt.Appendf(nil, `{"user":%q,"worker":%d,"pid":%d}`, user, h.cfg.Slot, h.cfg.PID))
}
