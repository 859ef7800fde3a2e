package scim

import (
	"context"
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
}

type cachedToken struct {
	token   resources.Token
	expires time.Time
}

const maxCachedTokens = 10000

func newAuthenticator(tokens resources.TokenStore, ttl time.Duration, log *slog.Logger) *authenticator {
	return &authenticator{tokens: tokens, ttl: ttl, log: log, cache: map[string]cachedToken{}}
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
	return resources.Principal{Org: t.Org, Role: t.Role, Name: t.Name, Onboarding: t.Onboarding}
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
		p, err := h.auth.authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if resources.ErrorCode(err) == resources.Unauthorized {
				if !internal {
					h.authFailed(r, client)
				}
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

// isSearch reports a POST /.search, which only reads (RFC 7644 §3.4.3).
func isSearch(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/.search")
}
