package scim

import (
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

// basicChallenge is the WWW-Authenticate challenge of /Me (RFC 7617).
const basicChallenge = `Basic realm="scimd"`

// me serves /Me (RFC 7644 §3.11): the account of a customer authenticated as
// themselves, with their email (any case) and password in HTTP Basic
// authentication (RFC 7617), at /t/{org}/scim/v2/Me. The request is processed
// directly, not redirected, and every response to an authenticated customer
// carries the permanent location of their resource, /Users/{id}, in the
// Location header, as §3.11 requires.
//
// Answers, by method:
//   - GET, HEAD: the customer's User resource, rendered as GET /Users/{id}
//     renders it (attributes, excludedAttributes, ETag, If-None-Match).
//   - PATCH, PUT: change what a customer may change (see
//     [resources.Users.PatchSelf] and [resources.Users.ReplaceSelf]),
//     including the password; If-Match is honoured.
//   - DELETE: 403: customers cannot delete their account through /Me; an
//     administrator deletes it (RFC 7644 §3.11 leaves this to the provider).
//   - POST: 501: there is nothing a customer may create through /Me.
//
// While the account has a temporary password, GET answers 403 and PATCH/PUT
// must change the password.
//
// /Me is not supported, 501 as §3.11 says, for subjects that are not
// customers: a bearer token is an API client, not a user; and /scim/v2/Me
// without an organization in the path cannot authenticate a customer, since an
// email is only unique within an organization; its detail names the URL to
// use. Failed sign-ins are not rate-limited here yet.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		writeStatus(w, http.StatusNotImplemented, "", "/Me is not supported for API tokens: an API token is not a user; use /Users/{id}")
		return
	}
	org := r.PathValue("org")
	if org == "" {
		writeStatus(w, http.StatusNotImplemented, "", "/Me needs your organization in the path: use /t/{org}"+BasePath+"/Me with your email and password (HTTP Basic authentication)")
		return
	}
	ctx := r.Context()
	userName, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", basicChallenge)
		writeError(w, r, h.log, resources.Errorf(resources.Unauthorized, "authentication required: send your email and password with HTTP Basic authentication"))
		return
	}
	// Every attempt costs an argon2id hash: an address that keeps failing is
	// refused before it costs one more, and concurrent attempts reserve
	// their failure before hashing, so a burst cannot overrun the limit
	// (ratelimit.go).
	client := h.clientAddr(r)
	if wait, ok := h.failures.begin(client, time.Now()); !ok {
		tooManyRequests(w, wait, "too many failed sign-ins from your address; retry after the time in Retry-After")
		return
	}
	var self resources.Resource
	var err error
	if strings.ContainsAny(org, "{}") {
		// Braces delimit the Redis hash tag: no organization has them.
		err = resources.Errorf(resources.Unauthorized, "invalid email or password")
	} else {
		self, err = h.users.Authenticate(ctx, org, userName, resources.Secret(password))
	}
	failed := resources.ErrorCode(err) == resources.Unauthorized
	h.blockedLog(r, h.failures.end(client, failed, time.Now()), client)
	if err != nil {
		if failed {
			w.Header().Set("WWW-Authenticate", basicChallenge)
		}
		writeError(w, r, h.log, err)
		return
	}

	// The audit trail records the customer's own changes as theirs.
	ctx = resources.WithActor(ctx, resources.CustomerActor(self.ID))
	e := h.userEndpoint()
	w.Header().Set("Location", resources.Location(e.rt, h.cfg.BaseURL, self.ID))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if err := resources.CheckPasswordChanged(self); err != nil {
			e.fail(w, r, err)
			return
		}
		res, err := h.users.Get(ctx, org, self.ID)
		if err != nil {
			e.fail(w, r, err)
			return
		}
		e.respondRead(w, r, res)
	case http.MethodPatch:
		ifMatch, ok := e.ifMatch(w, r, self.ID)
		if !ok {
			return
		}
		ops, ok := e.readPatch(w, r)
		if !ok {
			return
		}
		res, err := h.users.PatchSelf(resources.WithAction(ctx, resources.ActionPatch), org, self.ID, ops, ifMatch)
		if err != nil {
			e.fail(w, r, err)
			return
		}
		e.respond(w, r, http.StatusOK, res)
	case http.MethodPut:
		ifMatch, ok := e.ifMatch(w, r, self.ID)
		if !ok {
			return
		}
		raw, ok := e.readObject(w, r)
		if !ok {
			return
		}
		res, err := h.users.ReplaceSelf(ctx, org, self.ID, raw, ifMatch)
		if err != nil {
			e.fail(w, r, err)
			return
		}
		e.respond(w, r, http.StatusOK, res)
	case http.MethodDelete:
		e.fail(w, r, resources.Errorf(resources.Forbidden, "customers cannot delete their own account: ask an administrator of your organization"))
	case http.MethodPost:
		writeStatus(w, http.StatusNotImplemented, "", "POST /Me is not supported: there is nothing a customer can create through /Me")
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, PATCH")
		writeStatus(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
	}
}
