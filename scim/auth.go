package scim

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/resources"
)

type principalKey struct{}

// principal returns who the request acts for; the auth middleware put it there.
func principal(ctx context.Context) resources.Principal {
	p, _ := ctx.Value(principalKey{}).(resources.Principal)
	return p
}

// authenticator checks bearer tokens. Verified tokens are cached for a short
// time so that a request costs no extra Redis round trip; a revoked token is
// forgotten at once when its revocation is heard (see Handler.ForgetToken), and
// stops working within the cache TTL otherwise. A token verified against the store is recorded
// as used then ([resources.Token.LastUsed]): at most once per cache TTL per
// server, so "last used" is as precise as the TTL.
type authenticator struct {
	tokens resources.TokenStore
	ttl    time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedToken // by token hash
	// flights are the store lookups under way, by token hash: concurrent
	// requests with one token wait for one lookup (see Handler.authenticate).
	flights map[string]*flight
}

// flight is a lookup of a token that other requests with it wait for.
type flight struct {
	done chan struct{}
	p    resources.Principal
	err  error
}

type cachedToken struct {
	token   resources.Token
	expires time.Time
}

const maxCachedTokens = 10000

func newAuthenticator(tokens resources.TokenStore, ttl time.Duration, log *slog.Logger) *authenticator {
	return &authenticator{tokens: tokens, ttl: ttl, log: log, cache: map[string]cachedToken{}, flights: map[string]*flight{}}
}

// cached returns the principal of a bearer token verified within the cache
// TTL: one that cannot fail.
func (a *authenticator) cached(header string) (resources.Principal, bool) {
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return resources.Principal{}, false
	}
	var buf [resources.TokenHashLen]byte
	hash := resources.AppendTokenHash(buf[:0], resources.Secret(strings.TrimSpace(raw)))
	a.mu.Lock()
	c, hit := a.cache[string(hash)]
	a.mu.Unlock()
	if hit && time.Now().Before(c.expires) {
		return toPrincipal(c.token), true
	}
	return resources.Principal{}, false
}

// join returns the lookup under way of header's token, or starts one (lead:
// the caller looks the token up, and lands the flight with what it found).
func (a *authenticator) join(header string) (f *flight, lead bool) {
	key := resources.HashToken(resources.Secret(header))
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.flights[key]; f != nil {
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	a.flights[key] = f
	return f, true
}

// land ends the flight of header's token with its outcome.
func (a *authenticator) land(header string, f *flight, p resources.Principal, err error) {
	key := resources.HashToken(resources.Secret(header))
	a.mu.Lock()
	delete(a.flights, key)
	a.mu.Unlock()
	f.p, f.err = p, err
	close(f.done)
}

// authenticate returns the principal of a bearer token.
//
// A secret in the current format names its organization
// ([resources.Secret.Org]): it is looked up among that organization's keys
// only, so that one organization's slot (or a global key) being unavailable
// on Redis Cluster refuses no other organization; one whose
// checksum is wrong is refused without a lookup. A secret of another format
// (older tokens, a configured bootstrap token) is looked up in the global
// hash. An expired token is refused like an unknown one; the log says it
// expired, naming the token, never its secret.
func (a *authenticator) authenticate(ctx context.Context, header string) (resources.Principal, error) {
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return resources.Principal{}, resources.Errorf(resources.Unauthorized, "authentication required: send \"Authorization: Bearer <token>\"")
	}
	invalid := resources.Errorf(resources.Unauthorized, "the bearer token is not valid")
	secret := resources.Secret(strings.TrimSpace(raw))
	hash := resources.HashToken(secret)
	now := time.Now()
	a.mu.Lock()
	c, hit := a.cache[hash]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return toPrincipal(c.token), nil
	}
	org, scoped, valid := secret.Org()
	if !valid {
		return resources.Principal{}, invalid
	}
	var t resources.Token
	var err error
	if scoped {
		t, err = a.tokens.OrgTokenByHash(ctx, org, hash)
	} else {
		t, err = a.tokens.TokenByHash(ctx, hash)
	}
	if resources.ErrorCode(err) == resources.NotFound {
		return resources.Principal{}, invalid
	}
	if err != nil {
		return resources.Principal{}, err
	}
	if t.Expired(now) {
		a.log.InfoContext(ctx, "bearer token expired", "org", t.Org, "token_name", t.Name, "expired_at", t.Expires)
		return resources.Principal{}, invalid
	}
	// Best-effort: a request does not fail for want of a last-use time.
	if err := a.tokens.TouchToken(ctx, t.Org, t.Name, hash); err != nil {
		a.log.WarnContext(ctx, "token use not recorded", "org", t.Org, "token_name", t.Name, "err", err)
	}
	if a.ttl > 0 {
		expires := now.Add(a.ttl)
		if !t.Expires.IsZero() && t.Expires.Before(expires) {
			expires = t.Expires // the cache never outlives the token
		}
		a.mu.Lock()
		if len(a.cache) >= maxCachedTokens {
			clear(a.cache)
		}
		a.cache[hash] = cachedToken{token: t, expires: expires}
		a.mu.Unlock()
	}
	return toPrincipal(t), nil
}

// forget drops the cached tokens named name in org, so that a token revoked
// through this server stops working here at once (other servers hear of it
// through the store's events, see Handler.ForgetToken, or stop within the
// cache TTL).
func (a *authenticator) forget(org, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for hash, c := range a.cache {
		if c.token.Org == org && c.token.Name == name {
			delete(a.cache, hash)
		}
	}
}

func toPrincipal(t resources.Token) resources.Principal {
	return resources.Principal{Org: t.Org, Role: t.Role, Name: t.Name, Onboarding: t.Onboarding, Replaced: t.Replaced}
}

// ownerOnly refuses p unless it is an owner token's current secret: a
// secret a rotation replaced works for the SCIM API during the overlap, not
// for managing the organization (what names what it was refused).
func ownerOnly(p resources.Principal, what string) error {
	if p.Role != resources.RoleOwner {
		return resources.Errorf(resources.Forbidden, "only an owner token may %s; this one is a %s token", what, p.Role)
	}
	if p.Replaced {
		return resources.Errorf(resources.Forbidden, "only an owner token's current secret may %s; this secret was replaced by a rotation and works for the SCIM API only, until it expires", what)
	}
	return nil
}

// requireAuth authenticates every request, applies the abuse limits (see
// ratelimit.go), refuses writes to readers, and puts the principal in the
// context, with its token as the actor of the audit trail
// ([resources.TokenActor]).
//
// A request whose context already has a principal is an operation of a /Bulk
// request, dispatched internally: it is authenticated again but not counted
// against the limits, which the /Bulk request passed as one request.
func (h *Handler) requireAuth(next http.Handler) http.Handler {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		_, internal := r.Context().Value(principalKey{}).(resources.Principal)
		client := h.clientAddr(r)
		noteAccess(r.Context(), client, resources.Principal{})
		if !internal && h.failures.tracking() {
			if wait, blocked := h.failures.blocked(client, time.Now()); blocked {
				return errTooManyRequests(wait, "too many failed authentication attempts from your address; retry after the time in Retry-After")
			}
		}
		p, err := h.authenticate(r, internal)
		if err != nil {
			if resources.ErrorCode(err) == resources.Unauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
			}
			return err
		}
		noteAccess(r.Context(), client, p)
		if !internal {
			if wait, ok := h.allowToken(r.Context(), p); !ok {
				return errTooManyRequests(wait, "this token sends requests faster than allowed; retry after the time in Retry-After")
			}
		}
		if !p.Role.CanWrite() && r.Method != http.MethodGet && r.Method != http.MethodHead && !isSearch(r) {
			return resources.Errorf(resources.Forbidden, "role %q may only read; this needs an owner or collaborator token", p.Role)
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = resources.WithOnboarding(ctx, p.Onboarding) // the token's override of the organization's policy
		next.ServeHTTP(w, r.WithContext(resources.WithActor(ctx, resources.TokenActor(p.Name))))
		return nil
	})
}

// authenticate returns the principal of r's bearer token. A token verified
// within the cache TTL cannot fail. Any other may, so unless the request is
// internal (a /Bulk operation) its failure is reserved first, atomically,
// in the failed-authentication counts of r's address (BeginAuth: shared by
// every process through the store): concurrent requests with bad tokens,
// on one process or many, never get more than the limit's 401s between
// them, and the rest answer 429. Concurrent requests with one token share
// one lookup and one reservation, so that a client sending many requests
// at once with a token not yet cached (at start, or when its cache entry
// expires) is not refused for the reservations of its own requests; each
// request answered 401 counts.
func (h *Handler) authenticate(r *http.Request, internal bool) (resources.Principal, error) {
	ctx, header := r.Context(), r.Header.Get("Authorization")
	if p, ok := h.auth.cached(header); ok {
		return p, nil
	}
	if internal || h.failures == nil {
		return h.auth.authenticate(ctx, header)
	}
	for {
		f, lead := h.auth.join(header)
		if lead {
			var p resources.Principal
			wait, ok := h.BeginAuth(r)
			err := errTooManyRequests(wait, "too many failed authentication attempts from your address; retry after the time in Retry-After")
			if ok {
				p, err = h.auth.authenticate(ctx, header)
				h.EndAuth(r, resources.ErrorCode(err) == resources.Unauthorized)
			}
			h.auth.land(header, f, p, err)
			return p, err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return resources.Principal{}, ctx.Err()
		}
		if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			continue // the request that looked it up went away: look again
		}
		if resources.ErrorCode(f.err) == resources.Unauthorized {
			// This request's 401 counts too, within the limit.
			if wait, ok := h.BeginAuth(r); !ok {
				return resources.Principal{}, errTooManyRequests(wait, "too many failed authentication attempts from your address; retry after the time in Retry-After")
			}
			h.EndAuth(r, true)
		}
		return f.p, f.err
	}
}

// isSearch reports a POST /.search, which only reads (RFC 7644 §3.4.3).
func isSearch(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/.search")
}
