package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

// AdminPath is where owners manage their organization's API tokens.
const AdminPath = "/admin/v1/tokens"

// tokenAdmin is what the owners' token API needs beyond authentication. The
// handler serves the API when the token store it is given has it.
type tokenAdmin interface {
	CreateToken(ctx context.Context, t resources.Token) error
	ListTokens(ctx context.Context, org string) ([]resources.Token, error)
	RevokeToken(ctx context.Context, org, name string) error
}

// tokenInfo is a token as the API shows it: never its hash. Secret is set
// only in the answer to its creation, the one time it is shown.
type tokenInfo struct {
	Name    string         `json:"name"`
	Role    resources.Role `json:"role"`
	Created time.Time      `json:"created"`
	Token   string         `json:"token,omitempty"`
	// Onboarding is the token's override of the organization's onboarding
	// policy, when it has one.
	Onboarding string `json:"onboarding,omitempty"`
}

// The owners' token API: GET lists the organization's tokens, POST
// {"name","role"[,"onboarding"]} creates one and shows its secret once, DELETE .../{name}
// revokes one (this server stops accepting it at once, others when they
// hear of it: see ForgetToken). Only owners may use it (requireOwner); every change is in the
// organization's change log.

// requireOwner refuses every principal but an owner.
func (h *Handler) requireOwner(next http.Handler) http.Handler {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if p := principal(r.Context()); p.Role != resources.RoleOwner {
			return resources.Errorf(resources.Forbidden, "only an owner token may manage tokens; this one is a %s token", p.Role)
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
			out[i] = tokenInfo{Name: t.Name, Role: t.Role, Created: t.Created, Onboarding: t.Onboarding}
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
		return nil
	}
}

// createToken serves POST {"name","role"}: a new token, its secret shown
// this once.
func (h *Handler) createToken(admin tokenAdmin) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		data, err := readBody(w, r, h.cfg.MaxBodyBytes)
		if err != nil {
			return err
		}
		var req struct {
			Name string         `json:"name"`
			Role resources.Role `json:"role"`
			// Onboarding overrides the organization's policy for the
			// customers this token creates (optional).
			Onboarding string `json:"onboarding"`
		}
		if err := json.Unmarshal(data, &req); err != nil {
			return resources.Errorf(resources.InvalidSyntax, "send {\"name\": \"…\", \"role\": \"owner|collaborator|reader\"}")
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
		secret := resources.NewTokenSecret()
		t := resources.Token{Org: principal(r.Context()).Org, Name: req.Name, Role: req.Role, Hash: resources.HashToken(secret), Created: time.Now().UTC(),
			Onboarding: req.Onboarding}
		if err := admin.CreateToken(r.Context(), t); err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, tokenInfo{Name: t.Name, Role: t.Role, Created: t.Created, Token: secret.Reveal(), Onboarding: t.Onboarding})
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
