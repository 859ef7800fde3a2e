package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// AdminPath is where owners manage their organization's API tokens.
const AdminPath = "/admin/v1/tokens"

// DefaultRotationOverlap is how long the secret a rotation replaces keeps
// working when the request does not say: time to update the identity
// provider that holds it.
const DefaultRotationOverlap = 7 * 24 * time.Hour

// tokenAdmin is what the owners' token API needs beyond authentication. The
// handler serves the API when the token store it is given has it.
type tokenAdmin interface {
	CreateToken(ctx context.Context, t resources.Token) error
	ListTokens(ctx context.Context, org string) ([]resources.Token, error)
	RevokeToken(ctx context.Context, org, name string) error
	RotateToken(ctx context.Context, org, name string, r resources.Rotation) (resources.Token, error)
	RevokePreviousToken(ctx context.Context, org, name string) error
}

// tokenInfo is a token as the API shows it: never its hash. Token (the
// secret) is set only in the answer to its creation or rotation, the one
// time it is shown.
type tokenInfo struct {
	Name     string         `json:"name"`
	Role     resources.Role `json:"role"`
	Created  time.Time      `json:"created"`
	LastUsed time.Time      `json:"lastUsed,omitzero"`
	Expires  time.Time      `json:"expiresAt,omitzero"`
	// Format is "orgScoped" for a secret that names its organization,
	// "legacy" for one found through the global hash (rotate it to move it
	// to the current format).
	Format   string        `json:"format"`
	Previous *previousInfo `json:"previous,omitempty"`
	Token    string        `json:"token,omitempty"`
	// Onboarding is the token's override of the organization's onboarding
	// policy, when it has one.
	Onboarding string `json:"onboarding,omitempty"`
}

// previousInfo is the secret a rotation replaced, while it still exists.
type previousInfo struct {
	Created time.Time `json:"created"`
	Expires time.Time `json:"expiresAt,omitzero"`
	// LastUsed tells whether the identity provider still sends it.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	Format   string    `json:"format"`
}

func format(t resources.Token) string {
	if t.Scoped {
		return "orgScoped"
	}
	return "legacy"
}

func toTokenInfo(t resources.Token) tokenInfo {
	info := tokenInfo{Name: t.Name, Role: t.Role, Created: t.Created, LastUsed: t.LastUsed, Expires: t.Expires, Format: format(t), Onboarding: t.Onboarding}
	if p := t.Previous; p != nil {
		info.Previous = &previousInfo{Created: p.Created, Expires: p.Expires, LastUsed: p.LastUsed, Format: format(*p)}
	}
	return info
}

// routeTokens serves the owners' token API (README "API tokens"):
//
//   - GET lists the organization's tokens, with last use, expiry and a
//     rotation's previous secret;
//   - POST {"name","role","expiresAt","onboarding"} creates one and shows its
//     secret once ("onboarding", optional, overrides the organization's
//     onboarding policy for the customers it creates);
//   - POST .../{name}/rotate {"expiresAt","previousExpiresAt"} gives it a new
//     secret, shown once, while the replaced one keeps working until
//     previousExpiresAt (default [DefaultRotationOverlap]);
//   - DELETE .../{name}/previous ends that overlap now;
//   - DELETE .../{name} revokes the token, both secrets.
//
// This server stops accepting a revoked secret at once, others when they
// hear of it (see ForgetToken), or within their token cache time. Only
// owners may use it (requireOwner); every change is in the organization's
// change log. Bodies with fields the API does not know are refused (400),
// never half understood.
func (h *Handler) routeTokens(admin tokenAdmin) {
	owners := func(next http.Handler) http.Handler { return h.requireAuth(h.requireOwner(next)) }
	h.route(owners, route{path: AdminPath, get: h.listTokens(admin), post: h.createToken(admin)})
	h.route(owners, route{path: AdminPath + "/{name}", delete: h.revokeToken(admin)})
	h.route(owners, route{path: AdminPath + "/{name}/rotate", post: h.rotateToken(admin)})
	h.route(owners, route{path: AdminPath + "/{name}/previous", delete: h.revokePreviousToken(admin)})
}

// requireOwner refuses every principal but an owner.
func (h *Handler) requireOwner(next http.Handler) http.Handler {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if err := ownerOnly(principal(r.Context()), "manage tokens"); err != nil {
			return err
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// listTokens serves GET: the organization's tokens, never their hashes.
func (h *Handler) listTokens(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		list, err := admin.ListTokens(r.Context(), principal(r.Context()).Org)
		if err != nil {
			return err
		}
		out := make([]tokenInfo, len(list))
		for i, t := range list {
			out[i] = toTokenInfo(t)
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
		return nil
	}
}

// decodeAdminBody decodes the JSON object of an admin API request into v,
// refusing fields v does not have: a client that sends "expires" for
// "expiresAt" learns it at once instead of getting a token that never
// expires. An empty body, when allowEmpty, leaves v as it is.
func decodeAdminBody(data []byte, v any, allowEmpty bool, shape string) error {
	if allowEmpty && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return resources.Errorf(resources.InvalidSyntax, "%s; send %s", schemas.JSONProblem(err), shape)
	}
	return nil
}

// future reads an expiry a client sent (nil: none, the zero time): an RFC
// 3339 time (else invalidSyntax, as the body's other faults) after now
// (else invalidValue).
func future(field string, v *string, now time.Time) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return time.Time{}, resources.Errorf(resources.InvalidSyntax, "%s %q is not an RFC 3339 time such as 2026-12-31T23:59:59Z", field, *v)
	}
	if !t.After(now) {
		return time.Time{}, resources.Errorf(resources.InvalidValue, "%s %s is not in the future", field, t.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// createToken serves POST {"name","role","expiresAt","onboarding"}: a new
// token, its secret shown this once.
func (h *Handler) createToken(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		data, err := readBody(w, r, h.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		var req struct {
			Name    string         `json:"name"`
			Role    resources.Role `json:"role"`
			Expires *string        `json:"expiresAt"`
			// Onboarding overrides the organization's policy for the
			// customers this token creates (optional).
			Onboarding string `json:"onboarding"`
		}
		if err := decodeAdminBody(data, &req, false, `{"name": "…", "role": "owner|collaborator|reader", "expiresAt": "RFC 3339 time, optional", "onboarding": "invite|none, optional"}`); err != nil {
			return err
		}
		req.Role = resources.Role(strings.ToLower(string(req.Role)))
		if !req.Role.Valid() {
			return resources.Errorf(resources.InvalidValue, "role %q: want owner, collaborator or reader", req.Role)
		}
		if req.Onboarding != "" {
			if _, err := resources.ParseOnboarding(req.Onboarding); err != nil {
				return err
			}
		}
		now := time.Now().UTC()
		expires, err := future("expiresAt", req.Expires, now)
		if err != nil {
			return err
		}
		org := principal(r.Context()).Org
		secret := resources.NewTokenSecret(org)
		t := resources.NewToken(org, req.Name, req.Role, secret, now)
		t.Expires = expires
		t.Onboarding = req.Onboarding
		if err := admin.CreateToken(r.Context(), t); err != nil {
			return err
		}
		info := toTokenInfo(t)
		info.Token = secret.Reveal()
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, info)
		return nil
	}
}

// rotateToken serves POST .../{name}/rotate {"expiresAt",
// "previousExpiresAt"} (both optional): a new secret for the token, shown
// this once, in the org-scoped format; the secret it replaces works on until
// previousExpiresAt, so that an identity provider can be moved to the new
// one without downtime.
func (h *Handler) rotateToken(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		data, err := readBody(w, r, h.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		var req struct {
			Expires         *string `json:"expiresAt"`
			PreviousExpires *string `json:"previousExpiresAt"`
		}
		if err := decodeAdminBody(data, &req, true, `{"expiresAt": "RFC 3339 time, optional", "previousExpiresAt": "RFC 3339 time, optional"}`); err != nil {
			return err
		}
		now := time.Now().UTC()
		expires, err := future("expiresAt", req.Expires, now)
		if err != nil {
			return err
		}
		previousExpires, err := future("previousExpiresAt", req.PreviousExpires, now)
		if err != nil {
			return err
		}
		if previousExpires.IsZero() {
			previousExpires = now.Add(DefaultRotationOverlap)
		}
		p, name := principal(r.Context()), r.PathValue("name")
		secret := resources.NewTokenSecret(p.Org)
		t, err := admin.RotateToken(r.Context(), p.Org, name, resources.Rotation{Hash: resources.HashToken(secret),
			Created: now, Expires: expires, PreviousExpires: previousExpires})
		if err != nil {
			return err
		}
		// A cached previous secret would outlive an earlier end here.
		h.auth.forget(p.Org, name)
		info := toTokenInfo(t)
		info.Token = secret.Reveal()
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, info)
		return nil
	}
}

// revokePreviousToken serves DELETE .../{name}/previous: the secret the last
// rotation replaced stops working now.
func (h *Handler) revokePreviousToken(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, name := principal(r.Context()), r.PathValue("name")
		if err := admin.RevokePreviousToken(r.Context(), p.Org, name); err != nil {
			return err
		}
		h.auth.forget(p.Org, name)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// revokeToken serves DELETE .../{name}, and forgets the token here at once.
func (h *Handler) revokeToken(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, name := principal(r.Context()), r.PathValue("name")
		if err := admin.RevokeToken(r.Context(), p.Org, name); err != nil {
			return err
		}
		h.auth.forget(p.Org, name)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// ForgetToken drops org's token name from this handler's token cache, so
// that a token revoked elsewhere (the console, or another process, which the
// store's events tell of) is refused at once here, as one revoked through
// the token API is.
func (h *Handler) ForgetToken(org, name string) { h.auth.forget(org, name) }
