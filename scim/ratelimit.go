package scim

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/resources"
)

// Defaults of the abuse limits in [Config].
const (
	// DefaultAuthFailureLimit failed authentications per client address
	// within DefaultAuthFailureWindow block that address: far more than a
	// misconfigured identity provider retries, far too few to guess a
	// 256-bit token, and it keeps a scanner from costing a store lookup per
	// request.
	DefaultAuthFailureLimit  = 20
	DefaultAuthFailureWindow = time.Minute
	// DefaultTokenRate and DefaultTokenBurst bound one token's requests: a
	// sustained 50 per second, with bursts of 200 (an identity provider's
	// sync cycle starts with a burst of reads). One runaway client cannot
	// starve the organizations that share the servers and the Redis.
	DefaultTokenRate  = 50
	DefaultTokenBurst = 200
	// DefaultPublicRate and DefaultPublicBurst bound form submissions to the
	// public customer pages per client address: 10 at once, then one every
	// five seconds. Every sign-in costs an argon2id hash (19 MiB, tens of
	// milliseconds): the limit bounds what an address can make the server
	// spend, and how fast it can guess passwords.
	DefaultPublicRate  = 0.2
	DefaultPublicBurst = 10
)

// maxLimiterEntries bounds the memory of each limiter: beyond it, entries
// that no longer limit anything are dropped, and if most still do, all are
// (failing open is the price of a bound under a flood of addresses).
const maxLimiterEntries = 100000

// failureLimiter counts failed authentications per client in fixed windows.
// Once a client reaches the limit, every request of that client is refused
// until its window ends, with a valid token too: a client that has been
// guessing tokens is not trusted because it finally found one, and an
// identity provider sharing the address recovers when the window ends.
type failureLimiter struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	clients map[string]*failureWindow
	// tracked is len(clients), readable without the lock: while no client
	// has failed, requests skip working out their address.
	tracked atomic.Int64

	// shared, when set, counts failures for every process (see
	// [Handler.ShareLimits]); clients then holds the blocks this process
	// learned of, and the counts of when the store could not be reached.
	shared *sharing
}

type failureWindow struct {
	start time.Time
	count int
	// pending counts the client's authentications under way (see
	// [failureLimiter.begin]); it outlives the window.
	pending int
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		limit = DefaultAuthFailureLimit
	}
	if window <= 0 {
		window = DefaultAuthFailureWindow
	}
	return &failureLimiter{limit: limit, window: window, clients: map[string]*failureWindow{}}
}

// tracking reports whether any client has failures counted; while none has,
// no client is blocked.
func (l *failureLimiter) tracking() bool { return l != nil && l.tracked.Load() > 0 }

// blocked reports whether client used up its failures, and how long until
// its window ends.
func (l *failureLimiter) blocked(client string, now time.Time) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	if !ok || f.count < l.limit {
		return 0, false
	}
	left := f.start.Add(l.window).Sub(now)
	if left <= 0 {
		delete(l.clients, client)
		l.tracked.Store(int64(len(l.clients)))
		return 0, false
	}
	return left, true
}

// begin reserves a failure of client for an authentication about to be
// tried, one that costs a password hash: with every failure it may still make
// reserved, no number of concurrent attempts gets past the limit between
// checking it and counting their failures. ok is false, with the time to
// wait, when none is left; otherwise end must settle the reservation.
func (l *failureLimiter) begin(client string, now time.Time) (wait time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(client, now)
	if f.count+f.pending >= l.limit {
		if f.count >= l.limit {
			return f.start.Add(l.window).Sub(now), false
		}
		return time.Second, false // attempts under way may fail: retry when they are done
	}
	f.pending++
	return 0, true
}

// end settles a reservation of begin: a failed authentication counts; it
// reports whether this failure reached the limit.
func (l *failureLimiter) end(client string, failed bool, now time.Time) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(client, now)
	f.pending = max(f.pending-1, 0)
	if !failed {
		if f.count == 0 && f.pending == 0 {
			// Nothing to remember: drop the entry, so that while no client
			// has failed, requests skip working out their address again.
			delete(l.clients, client)
			l.tracked.Store(int64(len(l.clients)))
		}
		return false
	}
	f.count++
	return f.count == l.limit
}

// block records that client is blocked for left, as the shared count (or
// another process, through the store's events) says.
func (l *failureLimiter) block(client string, now time.Time, left time.Duration) {
	if l == nil || left <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(client, now)
	f.start = now.Add(left - l.window)
	f.count = max(f.count, l.limit)
}

// pendingHere reports whether client has a reservation of this process's
// own counts under way: one made while the shared counts were unreachable,
// which must be settled here.
func (l *failureLimiter) pendingHere(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.clients[client]
	return ok && f.pending > 0
}

// fail counts a failed authentication of client; it reports whether this
// failure reached the limit.
func (l *failureLimiter) fail(client string, now time.Time) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(client, now)
	f.count++
	return f.count == l.limit
}

// current returns client's current window, starting a new one when there is
// none or it has ended. l.mu is held.
func (l *failureLimiter) current(client string, now time.Time) *failureWindow {
	f, ok := l.clients[client]
	pending := 0
	if ok && !now.Before(f.start.Add(l.window)) {
		ok, pending = false, f.pending
	}
	if !ok {
		if len(l.clients) >= maxLimiterEntries {
			for k, f := range l.clients {
				if !now.Before(f.start.Add(l.window)) {
					delete(l.clients, k)
				}
			}
			if len(l.clients) > maxLimiterEntries*3/4 {
				clear(l.clients)
			}
		}
		f = &failureWindow{start: now, pending: pending}
		l.clients[client] = f
		l.tracked.Store(int64(len(l.clients)))
	}
	return f
}

// tokenLimiter is a token bucket per API token: rate requests per second on
// average, burst at once.
type tokenLimiter struct {
	rate, burst float64

	mu      sync.Mutex
	buckets map[string]*bucket

	// shared, when set, keeps the buckets for every process (see
	// [Handler.ShareLimits]); buckets are then used only while the store
	// cannot be reached.
	shared *sharing
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newTokenLimiter(rate float64, burst int) *tokenLimiter {
	if rate < 0 {
		return nil
	}
	if rate == 0 {
		rate = DefaultTokenRate
	}
	if burst <= 0 {
		burst = DefaultTokenBurst
	}
	return &tokenLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// newPublicLimiter is the per-address limiter of the public pages.
func newPublicLimiter(rate float64, burst int) *tokenLimiter {
	if rate == 0 {
		rate = DefaultPublicRate
	}
	if burst <= 0 {
		burst = DefaultPublicBurst
	}
	return newTokenLimiter(rate, burst)
}

// allow takes one request from key's bucket; when it is empty it reports how
// long until it holds one again.
func (l *tokenLimiter) allow(key string, now time.Time) (time.Duration, bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiterEntries {
			full := time.Duration(l.burst / l.rate * float64(time.Second))
			for k, b := range l.buckets {
				if now.Sub(b.last) >= full { // refilled: the same as no entry
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) > maxLimiterEntries*3/4 {
				clear(l.buckets)
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// clientAddr is the address the per-client limits count against: the peer's
// IP (r.RemoteAddr), or, when the server sits behind a trusted proxy
// (Config.TrustForwardedFor), the last X-Forwarded-For address, the one that
// proxy appended; earlier ones are whatever the client sent. X-Forwarded-For
// is ignored otherwise: any client can send it, and trusting it would let one
// dodge its limit by writing a new address into every request. An IPv6
// address counts by its /64 network, which one host usually holds whole.
func (h *Handler) clientAddr(r *http.Request) string {
	addr := r.RemoteAddr
	if h.cfg.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				addr = last
			}
		}
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if ip.Is4() {
		return host // as ip.String() writes it: ParseAddr takes no other form of an IPv4 address
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// errTooManyRequests is a 429 (RFC 6585 §4) telling the client to wait:
// writeError answers it with Retry-After in whole seconds (RFC 9110 §10.2.3).
func errTooManyRequests(wait time.Duration, detail string) error {
	return protocolError{status: http.StatusTooManyRequests, detail: detail, retryAfter: wait}
}

// BeginAuth reserves a failed authentication of r's client before a bearer
// token (see Handler.authenticate) or a password is checked (see
// failureLimiter.begin); ok false means the client is blocked for wait. The
// customer pages and the console call it (web.AuthLimiter), so that their
// failed sign-ins count against the same limit as /Me and API tokens. Every
// BeginAuth that returns ok needs its EndAuth, which logs when a client
// reaches the limit (its address, never what it sent).
func (h *Handler) BeginAuth(r *http.Request) (wait time.Duration, ok bool) {
	l := h.failures
	if l == nil {
		return 0, true
	}
	client, now := h.clientAddr(r), time.Now()
	if s := l.shared; s.try() {
		// A block this process knows of costs no round trip.
		if wait, blocked := l.blocked(client, now); blocked {
			return wait, false
		}
		failures, left, ok, err := s.store.ReserveFailure(r.Context(), client, l.limit, l.window)
		if err == nil {
			s.reached(r.Context())
			switch {
			case ok:
				return 0, true
			case failures >= l.limit:
				l.block(client, now, left)
				return left, false
			default:
				return time.Second, false // attempts under way may fail: retry when they are done
			}
		}
		s.unreachable(r.Context(), err)
	}
	return l.begin(client, now)
}

// EndAuth settles a BeginAuth: failed counts the failure.
func (h *Handler) EndAuth(r *http.Request, failed bool) {
	h.settleFailure(r, h.clientAddr(r), true, failed)
}

// settleFailure settles a reservation of BeginAuth (reserved) and counts a
// failure (failed): in the shared counts, or in this process's when the
// reservation was made there or the store cannot be reached.
func (h *Handler) settleFailure(r *http.Request, client string, reserved, failed bool) {
	l := h.failures
	if l == nil {
		return
	}
	now := time.Now()
	if s := l.shared; !(reserved && l.pendingHere(client)) && s.try() {
		failures, left, err := s.store.SettleFailure(r.Context(), client, reserved, failed, l.limit, l.window)
		if err == nil {
			s.reached(r.Context())
			if failures >= l.limit {
				l.block(client, now, left)
			}
			h.blockedLog(r, failed && failures == l.limit, client)
			return
		}
		s.unreachable(r.Context(), err)
		reserved = false // the store's reservation expires with its window
	}
	var reached bool
	if reserved {
		reached = l.end(client, failed, now)
	} else if failed {
		reached = l.fail(client, now)
	}
	h.blockedLog(r, reached, client)
}

// allowToken takes one request of the principal's token from its bucket.
func (h *Handler) allowToken(ctx context.Context, p resources.Principal) (time.Duration, bool) {
	l := h.rates
	if l == nil {
		return 0, true
	}
	if s := l.shared; s.try() {
		wait, ok, err := s.store.AllowToken(ctx, p.Org, p.Name, l.rate, int(l.burst))
		if err == nil {
			s.reached(ctx)
			return wait, ok
		}
		s.unreachable(ctx, err)
	}
	return l.allow(p.Org+"\x00"+p.Name, time.Now())
}

// allowAddress takes one submission of client from its public-pages bucket.
func (h *Handler) allowAddress(ctx context.Context, client string, now time.Time) (time.Duration, bool) {
	l := h.public
	if l == nil {
		return 0, true
	}
	if s := l.shared; s.try() {
		wait, ok, err := s.store.AllowAddress(ctx, client, l.rate, int(l.burst))
		if err == nil {
			s.reached(ctx)
			return wait, ok
		}
		s.unreachable(ctx, err)
	}
	return l.allow(client, now)
}

// blockedLog logs, when reached, that client reached the failure limit.
func (h *Handler) blockedLog(r *http.Request, reached bool, client string) {
	if reached {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "client blocked after repeated authentication failures",
			slog.String("client", client), slog.Int("failures", h.failures.limit), slog.Duration("window", h.failures.window))
	}
}

// LimitPublic wraps the public customer pages (/t/{org}/accounts/...): a form
// submission (POST), or the opening of an emailed link (a GET with a token,
// which costs a store lookup), from an address over the PublicRate limit or
// blocked for failed authentications is answered 429 with Retry-After; other
// pages (GET) are not limited.
func (h *Handler) LimitPublic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.URL.RawQuery != "" && r.URL.Query().Has("token") {
			client, now := h.clientAddr(r), time.Now()
			wait, blocked := h.failures.blocked(client, now)
			if !blocked {
				wait, blocked = h.allowAddress(r.Context(), client, now)
				blocked = !blocked
			}
			if blocked {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte("Too many attempts from your address. Please wait " + strconv.Itoa(max(secs, 1)) + " seconds and try again.\n"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SharedLimits keeps the counts of the abuse limits where every scimd
// process on one store sees them (backend.Store on Redis), so that N
// replicas enforce one limit, not N. Each method is one atomic decision; an
// error means the store could not decide, and the process then counts on
// its own (see [Handler.ShareLimits]).
type SharedLimits interface {
	// AllowToken takes one request of org's token name from its bucket
	// (rate per second, burst at once); ok false: empty for wait. It is
	// called for every authenticated request, so backend.Store answers most
	// calls without a round trip, from requests it leased of the bucket.
	AllowToken(ctx context.Context, org, name string, rate float64, burst int) (wait time.Duration, ok bool, err error)
	// AllowAddress takes one public-page submission of addr from its
	// bucket, as AllowToken.
	AllowAddress(ctx context.Context, addr string, rate float64, burst int) (wait time.Duration, ok bool, err error)
	// ReserveFailure reserves a failed authentication of addr (see
	// failureLimiter.begin): ok false when the window's failures reached
	// limit (blocked for left) or reservations under way may use up the
	// rest.
	ReserveFailure(ctx context.Context, addr string, limit int, window time.Duration) (failures int, left time.Duration, ok bool, err error)
	// SettleFailure settles a reservation (reserved) and counts a failure
	// (failed) of addr; it returns the window's failures and its time left.
	SettleFailure(ctx context.Context, addr string, reserved, failed bool, limit int, window time.Duration) (failures int, left time.Duration, err error)
}

// ShareLimits makes the handler's abuse limits (per-token rate, per-address
// failed authentications, per-address public-page rate) count in store, for
// every process that shares it; call it before serving. Whether an address
// is blocked is still decided without a round trip, from the blocks this
// process learned of: from the counts it made, and from other processes
// through [Handler.BlockClient]. While the store cannot be reached, each
// decision falls back to this process's own counts, never to no limit; the
// first such fallback is logged, as is the return, and every one is counted
// ([Handler.LimitFallbacks]).
func (h *Handler) ShareLimits(store SharedLimits) {
	s := &sharing{store: store, log: h.log}
	if h.failures != nil {
		h.failures.shared = s
	}
	if h.rates != nil {
		h.rates.shared = s
	}
	if h.public != nil {
		h.public.shared = s
	}
}

// BlockClient blocks addr, a client address as the limits count it, for
// blockedFor: another process counted its failed authentications to the
// limit (backend.Store.WatchEvents tells).
func (h *Handler) BlockClient(addr string, blockedFor time.Duration) {
	h.failures.block(addr, time.Now(), blockedFor)
}

// LimitFallbacks is how many decisions of the shared limits were made by
// this process alone because the store could not be reached.
func (h *Handler) LimitFallbacks() uint64 {
	switch {
	case h.failures != nil && h.failures.shared != nil:
		return h.failures.shared.fallbacks.Load()
	case h.rates != nil && h.rates.shared != nil:
		return h.rates.shared.fallbacks.Load()
	case h.public != nil && h.public.shared != nil:
		return h.public.shared.fallbacks.Load()
	}
	return 0
}

// sharedRetry is how long after the shared counts failed the limits decide
// locally without asking them: while Redis is down, only one request in this
// time pays for finding out (a refused dial and go-redis's retries, or a
// read timeout).
const sharedRetry = time.Second

// sharing is the shared counts of the limits, and the state of falling back
// from them.
type sharing struct {
	store     SharedLimits
	log       *slog.Logger
	degraded  atomic.Bool
	fallbacks atomic.Uint64
	// retryAt (Unix nanoseconds) is when to ask the shared counts again
	// after they failed.
	retryAt atomic.Int64
}

// try reports whether to ask the shared counts: they are in use and did not
// fail within sharedRetry. A decision made locally instead is counted.
func (s *sharing) try() bool {
	if s == nil {
		return false
	}
	if time.Now().UnixNano() < s.retryAt.Load() {
		s.fallbacks.Add(1)
		return false
	}
	return true
}

// unreachable records a decision made locally because the store failed.
func (s *sharing) unreachable(ctx context.Context, err error) {
	s.fallbacks.Add(1)
	s.retryAt.Store(time.Now().Add(sharedRetry).UnixNano())
	if s.degraded.CompareAndSwap(false, true) {
		s.log.WarnContext(ctx, "abuse limits counted per process: the shared counts are unreachable", "err", err)
	}
}

// reached records a decision made with the shared counts.
func (s *sharing) reached(ctx context.Context) {
	if s.degraded.Load() && s.degraded.CompareAndSwap(true, false) {
		s.log.InfoContext(ctx, "abuse limits shared again")
	}
}
