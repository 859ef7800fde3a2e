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
}

// tokens serves the owners' token API: GET lists the organization's tokens,
// POST {"name","role"} creates one and shows its secret once, DELETE
// .../{name} revokes one (this server stops accepting it at once, others
// when they hear of it: see ForgetToken). Only owners may use it; every change is in the
// organization's change log.
func (h *Handler) tokens(admin tokenAdmin) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principal(ctx)
		if p.Role != resources.RoleOwner {
			writeError(w, r, h.log, resources.Errorf(resources.Forbidden, "only an owner token may manage tokens; this one is a %s token", p.Role))
			return
		}
		name := r.PathValue("name")
		switch {
		case r.Method == http.MethodGet && name == "":
			list, err := admin.ListTokens(ctx, p.Org)
			if err != nil {
				writeError(w, r, h.log, err)
				return
			}
			out := make([]tokenInfo, len(list))
			for i, t := range list {
				out[i] = tokenInfo{Name: t.Name, Role: t.Role, Created: t.Created}
			}
			writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
		case r.Method == http.MethodPost && name == "":
			data, err := readBody(w, r, h.cfg.MaxBodyBytes)
			if err != nil {
				h.endpoints[0].fail(w, r, err)
				return
			}
			var req struct {
				Name string         `json:"name"`
				Role resources.Role `json:"role"`
			}
			if err := json.Unmarshal(data, &req); err != nil {
				writeError(w, r, h.log, resources.Errorf(resources.InvalidSyntax, "send {\"name\": \"…\", \"role\": \"owner|collaborator|reader\"}"))
				return
			}
			req.Role = resources.Role(strings.ToLower(string(req.Role)))
			if !req.Role.Valid() {
				writeError(w, r, h.log, resources.Errorf(resources.InvalidValue, "role %q: want owner, collaborator or reader", req.Role))
				return
			}
			secret := resources.NewTokenSecret()
			t := resources.Token{Org: p.Org, Name: req.Name, Role: req.Role, Hash: resources.HashToken(secret), Created: time.Now().UTC()}
			if err := admin.CreateToken(ctx, t); err != nil {
				writeError(w, r, h.log, err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusCreated, tokenInfo{Name: t.Name, Role: t.Role, Created: t.Created, Token: secret.Reveal()})
		case r.Method == http.MethodDelete && name != "":
			if err := admin.RevokeToken(ctx, p.Org, name); err != nil {
				writeError(w, r, h.log, err)
				return
			}
			h.auth.forget(p.Org, name)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
		}
	}
}

// ForgetToken drops org's token name from this handler's token cache, so
// that a token revoked elsewhere (the console, or another process, which the
// store's events tell of) is refused at once here, as one revoked through
// the token API is.
func (h *Handler) ForgetToken(org, name string) { h.auth.forget(org, name) }
