// Package web holds what every HTML page scimd serves shares: the customer
// pages (package accounts) and the administrators' console (package
// console). One place for the security headers, the form-field model the
// templates render, the double-submit CSRF cookie of forms shown before
// anyone is signed in, and the limit on failed authentications per client
// address.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

// SetSecurityHeaders sets the headers every page carries: never cached
// (pages hold tokens and personal data), no referrer (links carry tokens),
// a Content-Security-Policy allowing only the server's own style sheets and
// scripts and no framing, and nosniff.
func SetSecurityHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// crossOrigin refuses a request a browser sent from another site
// (Sec-Fetch-Site, else Origin against Host): a form's CSRF token and
// SameSite cookies are the defence, this one more. Requests without either
// header (not from a browser) pass.
var crossOrigin = http.NewCrossOriginProtection()

// ServeOrgPages serves r with pages, the routes of an organization's pages
// (/t/{org}/...), after the security headers: a path whose organization no
// organization can be called (resources.ValidateOrgName) is 404 at once, a
// form a browser posted from another site is 403 (nothing changed), and
// only a POST's body is ever read (a GET's is dropped unread: the pages
// read forms with a bound, and a GET's query alone).
func ServeOrgPages(w http.ResponseWriter, r *http.Request, pages http.Handler) {
	SetSecurityHeaders(w.Header())
	org, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/t/"), "/")
	if resources.ValidateOrgName(org) != nil {
		http.NotFound(w, r)
		return
	}
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "This form was sent from another site, so it was refused and nothing was changed. Open the page on this site and send it from there.", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		r.Body = http.NoBody
	}
	pages.ServeHTTP(w, r)
}

// Field is one input of a form, as the pages' "field" templates render it:
// a label, an optional hint and error (linked by aria-describedby), and the
// input's attributes.
type Field struct {
	ID, Name, Type, Label, Hint, Error, Value, Autocomplete string
	MinLength, MaxLength                                    int
	// Optional fields are labelled so and not required; ReadOnly ones are
	// shown, not typed into.
	ReadOnly, Autofocus, Optional bool
}

// Describe is the input's aria-describedby: its hint and error.
func (f Field) Describe() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// Cookie returns an HttpOnly, SameSite=Strict cookie scoped to path,
// Secure when secure (the public URL is https).
func Cookie(name, value, path string, maxAge int, secure bool) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// csrfLength is the length of a CSRF token: 32 random bytes, base64url.
const csrfLength = 43

// CSRFToken returns the request's double-submit CSRF token, kept in the
// cookie name (of path), setting a fresh one when the request has none.
// A form carries it in its "csrf" field; [CSRFMatches] checks the two.
func CSRFToken(w http.ResponseWriter, r *http.Request, name, path string, secure bool) string {
	if c, err := r.Cookie(name); err == nil && len(c.Value) == csrfLength {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, Cookie(name, tok, path, 0, secure))
	return tok
}

// CSRFMatches reports whether the parsed form's "csrf" field is the token
// of the cookie name.
func CSRFMatches(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	sent := r.PostFormValue("csrf")
	return err == nil && sent != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) == 1
}

// AuthLimiter limits failed authentications per client address.
// scim.Handler's abuse limits implement it, so that a password guessed on a
// page counts as one guessed through /Me or a bearer token does.
type AuthLimiter interface {
	// BeginAuth is called before a password of r is checked: it reserves a
	// failure of r's client, so that concurrent attempts cannot overrun the
	// limit. ok false, with how long to wait, refuses the attempt; otherwise
	// EndAuth must follow.
	BeginAuth(r *http.Request) (wait time.Duration, ok bool)
	// EndAuth settles BeginAuth: failed counts a wrong password.
	EndAuth(r *http.Request, failed bool)
}

// WithinLimit runs check, a password check that reports whether it failed,
// within l's limit (nil: no limit). ok false, with how long the client must
// wait, means the client's address may not try now and check did not run.
func WithinLimit(l AuthLimiter, r *http.Request, check func() (failed bool)) (wait time.Duration, ok bool) {
	if l == nil {
		check()
		return 0, true
	}
	if wait, ok := l.BeginAuth(r); !ok {
		return wait, false
	}
	failed := true // until check says otherwise, should it panic
	defer func() { l.EndAuth(r, failed) }()
	failed = check()
	return 0, true
}
