package scim

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/resources"
)

// Metrics counts the server's requests for Prometheus, by method, route and
// status. The route is the pattern that served the request
// ("/scim/v2/Users/{id}"), never the path itself, so that ids and
// organizations in paths neither leak into metrics nor grow their cardinality.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// series are the counter and histogram of each method, route and
	// status seen, so that a request costs a map read instead of the
	// vectors' hashing of its label values and a formatted status. They are
	// as many as the vectors' series: the methods and routes are bounded
	// sets (see observe), and so are the statuses handlers write.
	mu     sync.RWMutex
	series map[seriesKey]series
}

// seriesKey names the series of a request: its method and route labels and
// its status.
type seriesKey struct {
	method, route string
	status        int
}

// series are the metrics a request with one seriesKey counts in.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers the request metrics with reg:
// scimd_http_requests_total and scimd_http_request_duration_seconds.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimd_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimd_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		series: map[seriesKey]series{},
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe records one served request. The ServeMuxes that route a request
// set its Pattern as they match it, so after serving, r.Pattern names the
// innermost route; a request no pattern matched is "unmatched".
func (m *Metrics) observe(r *http.Request, status int, elapsed time.Duration) {
	route := r.Pattern
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path // "GET /healthz": the method is a label of its own
	}
	if route == "" {
		route = "unmatched"
	}
	method := r.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other" // a client may send any method: keep the label set bounded
	}
	k := seriesKey{method: method, route: route, status: status}
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if !ok {
		s = series{requests: m.requests.WithLabelValues(method, route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(method, route)}
		m.mu.Lock()
		m.series[k] = s
		m.mu.Unlock()
	}
	s.requests.Inc()
	s.duration.Observe(elapsed.Seconds())
}

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

// requestKey is the context key of a request's *requestState.
type requestKey struct{}

// requestState is what a request's context carries for the access log: its
// id and its accessFields. One value under one key, so that a request costs
// one context and one allocation for both (Observe allocates it with its
// statusRecorder).
type requestState struct {
	id     string
	access accessFields
}

// WithRequestID returns ctx carrying a request's id: a [ContextHandler] adds
// it as request_id to every line logged with that context.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, &requestState{id: id})
}

// RequestID returns the request id ctx carries ([WithRequestID]), or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if st, ok := ctx.Value(requestKey{}).(*requestState); ok {
		return st.id
	}
	return ""
}

// ContextHandler wraps h so that every record logged with a context that
// carries a request id ([WithRequestID]; [Observe] puts one into every
// request's context) gets it as the attribute request_id: code below the
// middleware logs with log.ErrorContext(ctx, …) and the line names its
// request without passing the id around. Like any attribute added by a
// handler, it lands in the group opened by WithGroup, if there is one.
func ContextHandler(h slog.Handler) slog.Handler {
	return contextHandler{h}
}

type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// accessFields are what the access log says of who sent a request: the
// client's address and, once authenticated, the organization and token
// name (never the secret). Observe puts an empty one in the request's
// context (in its requestState); the authentication middleware fills it in
// (noteAccess).
type accessFields struct {
	client, org, token string
}

// noteAccess records, for the request's access log line, its client address
// and principal (p is zero before authentication).
func noteAccess(ctx context.Context, client string, p resources.Principal) {
	if st, ok := ctx.Value(requestKey{}).(*requestState); ok {
		f := &st.access
		f.client, f.org, f.token = client, p.Org, p.Name
	}
}

// observed is what Observe keeps of one request, in one allocation.
type observed struct {
	rec    statusRecorder
	state  requestState
	header [1]string // the X-Request-Id header's value
}

// Observe wraps next with a request id (X-Request-Id, taken from the client
// when it sends one, and put into the request's context with
// [WithRequestID]), panic recovery, request metrics (when metrics is not
// nil) and one JSON access-log line per request. It logs method, path, status
// and duration (see accessLevel), and for authenticated API requests the
// client's address (client), organization (org) and token name
// (token_name): never bodies, headers, secrets or query strings, which may
// hold personal data.
func Observe(log *slog.Logger, metrics *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			// An id names a request in logs, it guards nothing: the
			// runtime's fast generator will do, unlike crypto/rand's.
			var b [8]byte
			var x [16]byte
			binary.BigEndian.PutUint64(b[:], rand.Uint64())
			hex.Encode(x[:], b[:])
			id = string(x[:])
		}
		o := &observed{rec: statusRecorder{ResponseWriter: w}, state: requestState{id: id}, header: [1]string{id}}
		w.Header()["X-Request-Id"] = o.header[:] // as Set would, without allocating a slice
		rec, access := &o.rec, &o.state.access
		// The access line and the panic line name the id themselves, with
		// the outer request's context, so that a ContextHandler does not
		// add it twice and a plain handler shows it too.
		inner := r.WithContext(context.WithValue(r.Context(), requestKey{}, &o.state))
		start := time.Now()
		defer func() {
			p := recover()
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				// A response cut short (a stream whose source failed): net/http
				// drops the connection, so the client sees it incomplete.
				defer panic(p)
				p = nil
			}
			if p != nil {
				log.ErrorContext(r.Context(), "handler panic", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					writeStatus(rec, http.StatusInternalServerError, "", "internal error; the server logged the cause")
				}
			}
			if metrics != nil {
				// The muxes set the matched pattern on the request they
				// served: inner.
				metrics.observe(inner, rec.status, time.Since(start))
			}
			// Successful requests log at debug level: building the line's
			// attributes only when it is written saves allocations on
			// every request.
			if level := accessLevel(rec.status); log.Enabled(r.Context(), level) {
				attrs := []any{"request_id", id, "method", r.Method, "path", r.URL.Path,
					"status", rec.status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
				if access.client != "" {
					attrs = append(attrs, "client", access.client)
				}
				if access.org != "" {
					attrs = append(attrs, "org", access.org, "token_name", access.token)
				}
				log.Log(r.Context(), level, "request", attrs...)
			}
		}()
		next.ServeHTTP(rec, inner)
	})
}
