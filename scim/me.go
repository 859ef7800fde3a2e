package scim

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

// basicChallenge is the WWW-Authenticate challenge of /Me (RFC 7617).
const basicChallenge = `Basic realm="scimd"`

// /Me (RFC 7644 §3.11) is the account of a customer authenticated as
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
//     including the password; If-Match is honoured. The request is handled
//     as PATCH and PUT of /Users/{id} are, with the customer's rules.
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
// use.

// customerKey is the context key of the customer a /Me request acts for.
type customerKey struct{}

// self returns the customer's resource that [Handler.customer] put in ctx.
func self(ctx context.Context) resources.Resource {
	res, _ := ctx.Value(customerKey{}).(resources.Resource)
	return res
}

// errMeForToken is the answer of /Me to a bearer token.
var errMeForToken = protocolError{status: http.StatusNotImplemented,
	detail: "/Me is not supported for API tokens: an API token is not a user; use /Users/{id}"}

// bearer reports whether r authenticates with a bearer token.
func bearer(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// meWithoutOrg serves /scim/v2/Me, where no customer can be authenticated.
func (h *Handler) meWithoutOrg(w http.ResponseWriter, r *http.Request) error {
	if bearer(r) {
		return errMeForToken
	}
	return protocolError{status: http.StatusNotImplemented,
		detail: "/Me needs your organization in the path: use /t/{org}" + BasePath + "/Me with your email and password (HTTP Basic authentication)"}
}

// customer authenticates the customer of a /t/{org}/scim/v2/Me request and
// puts them in the context, as the actor of the audit trail too. Every
// attempt costs an argon2id hash: an address that keeps failing is refused
// before it costs one more, and concurrent attempts reserve their failure
// before hashing, so a burst cannot overrun the limit (ratelimit.go).
func (h *Handler) customer(next http.Handler) http.Handler {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if bearer(r) {
			return errMeForToken
		}
		org, ctx := r.PathValue("org"), r.Context()
		userName, password, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", basicChallenge)
			return resources.Errorf(resources.Unauthorized, "authentication required: send your email and password with HTTP Basic authentication")
		}
		client := h.clientAddr(r)
		if wait, ok := h.failures.begin(client, time.Now()); !ok {
			return errTooManyRequests(wait, "too many failed sign-ins from your address; retry after the time in Retry-After")
		}
		var customer resources.Resource
		err := resources.ValidateOrgName(org)
		if err != nil {
			// No organization has that name, nor a customer in it.
			err = resources.Errorf(resources.Unauthorized, "invalid email or password")
		} else {
			customer, err = h.users.Authenticate(ctx, org, userName, resources.Secret(password))
		}
		failed := resources.ErrorCode(err) == resources.Unauthorized
		h.blockedLog(r, h.failures.end(client, failed, time.Now()), client)
		if err != nil {
			if failed {
				w.Header().Set("WWW-Authenticate", basicChallenge)
			}
			return err
		}
		ctx = context.WithValue(resources.WithActor(ctx, resources.CustomerActor(customer.ID)), customerKey{}, customer)
		w.Header().Set("Location", resources.Location(h.users.ResourceType(), h.cfg.BaseURL, customer.ID))
		next.ServeHTTP(w, r.WithContext(ctx))
		return nil
	})
}

// getMe serves GET /Me: the customer's User, once their temporary password
// is changed.
func (h *Handler) getMe(w http.ResponseWriter, r *http.Request) error {
	me := self(r.Context())
	if err := resources.CheckPasswordChanged(me); err != nil {
		return err
	}
	res, err := h.users.Get(r.Context(), r.PathValue("org"), me.ID)
	if err != nil {
		return err
	}
	return h.userEndpoint().respondRead(w, r, res)
}

// patchMe serves PATCH /Me.
func (h *Handler) patchMe(w http.ResponseWriter, r *http.Request) error {
	return h.userEndpoint().patchOne(w, r, r.PathValue("org"), self(r.Context()).ID, h.users.PatchSelf)
}

// replaceMe serves PUT /Me.
func (h *Handler) replaceMe(w http.ResponseWriter, r *http.Request) error {
	return h.userEndpoint().replaceOne(w, r, r.PathValue("org"), self(r.Context()).ID, h.users.ReplaceSelf)
}

// deleteMe serves DELETE /Me: refused.
func (h *Handler) deleteMe(w http.ResponseWriter, r *http.Request) error {
	return resources.Errorf(resources.Forbidden, "customers cannot delete their own account: ask an administrator of your organization")
}

// postMe serves POST /Me: not implemented.
func (h *Handler) postMe(w http.ResponseWriter, r *http.Request) error {
	return protocolError{status: http.StatusNotImplemented, detail: "POST /Me is not supported: there is nothing a customer can create through /Me"}
}
