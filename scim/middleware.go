package scim

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// accessLevel is the level of a request's log line: server errors are errors,
// client errors are info, and successful requests are debug, so that an
// identity provider's sync cycle does not flood the log (SCIM_LOG_LEVEL=debug
// shows every request).
func accessLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// Observe wraps next with a request id (X-Request-Id, taken from the client
// when it sends one), panic recovery and one JSON access-log line per request.
// It logs method, path, status and duration (see accessLevel): never bodies, headers or query
// strings, which may hold personal data.
func Observe(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(r.Context(), "handler panic", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					writeStatus(rec, http.StatusInternalServerError, "", "internal error; the server logged the cause")
				}
			}
			// Successful requests log at debug level: building the line's
			// attributes only when it is written saves allocations on
			// every request.
			if level := accessLevel(rec.status); log.Enabled(r.Context(), level) {
				log.Log(r.Context(), level, "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"status", rec.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
