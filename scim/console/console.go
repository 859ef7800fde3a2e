package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/accounts"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/web"
)

//go:embed templates
var files embed.FS

// Cookie names, scoped to /t/{org}/console/, HttpOnly and SameSite=Strict.
const (
	sessionCookie = "scimd_console"
	// csrfCookie carries the double-submit CSRF token of the forms shown
	// before a session exists (sign-in, accepting an invitation); a
	// session's forms carry the session's own token.
	csrfCookie = "scimd_console_csrf"
	// flashCookie carries, from a form that succeeded to the page it
	// redirects to, one sentence saying what happened.
	flashCookie = "scimd_console_flash"
)

// maxFormBytes bounds a form body: the largest is a group's member picker,
// a few hundred ids.
const maxFormBytes = 64 << 10

// Config configures the console.
type Config struct {
	// SecureCookies marks the cookies Secure: set it when the public URL is
	// https.
	SecureCookies bool
	// BaseURL is the server's public URL without a path: the settings show
	// the SCIM base URL (BaseURL/scim/v2) and the registration link.
	BaseURL string
	// Limiter counts failed sign-ins against the client's address with the
	// server's other failed authentications; nil: no limit here.
	Limiter web.AuthLimiter
	// TokenRevoked, when set, is told of each API token the console
	// revokes, so that the process's API drops it from its token cache at
	// once (scim.Handler.ForgetToken); other processes hear of it through
	// the store's events, or refuse it within their cache time while they
	// cannot.
	TokenRevoked func(org, name string)
}

// Services are the domain services the console calls: the same ones the
// SCIM API and the customer pages use, so there is one write path and one
// audit trail.
type Services struct {
	Users  *resources.Users
	Groups *resources.Groups
	Admins *resources.Admins
	Orgs   *resources.Orgs
}

// Handler serves the console; mount it at "/t/{org}/console/".
type Handler struct {
	cfg   Config
	svc   Services
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	css   []byte
}

// base is the path of every console route.
const base = notify.ConsolePages

// New returns the console's handler.
func New(cfg Config, svc Services, log *slog.Logger) *Handler {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, svc: svc, log: log, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err) // a constant pattern: cannot happen
	}
	funcs := template.FuncMap{"date": formatDate, "datetime": formatDateTime, "add": func(a, b int) int { return a + b }}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		h.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", n))
	}
	own, err := files.ReadFile("templates/console.css")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	h.css = append(append(accounts.StyleSheet(), '\n'), own...)

	h.mux.HandleFunc("GET "+base+"style.css", h.style)
	for _, js := range scripts {
		h.mux.HandleFunc("GET "+base+js, h.script(js))
	}
	h.signInRoutes()
	h.userRoutes()
	h.groupRoutes()
	h.settingsRoutes()
	h.mux.HandleFunc("GET "+base+"{$}", h.signedIn(func(w http.ResponseWriter, r *http.Request, c *call) {
		http.Redirect(w, r, c.url("users"), http.StatusSeeOther)
	}))
	h.mux.HandleFunc(base, func(w http.ResponseWriter, r *http.Request) {
		h.message(w, r, nil, http.StatusNotFound, "Page not found", []string{"There is no page at this address."}, nil)
	})
	return h
}

// ServeHTTP implements http.Handler: the security headers, a 404 for an
// organization no organization can be called, then the routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	web.ServeOrgPages(w, r, h.mux)
}

// scripts are the console's progressive enhancements, each optional: the
// pages work without them. copy.js: copy buttons of the settings' secrets
// and URLs; user-delete.js: Confirm stays disabled until the username is
// typed; password-generate.js: the new customer form's Generate button.
var scripts = []string{"copy.js", "user-delete.js", "password-generate.js"}

// script serves the embedded script name.
func (h *Handler) script(name string) http.HandlerFunc {
	js, err := files.ReadFile("templates/" + name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(js)
	}
}

func (h *Handler) style(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.css)
}

// call is a signed-in administrator's request.
type call struct {
	Org     string
	Admin   resources.Admin
	Session resources.Session
}

// url is the address of a console page of the call's organization, path
// relative to the console's root ("users", "users/ID").
func (c *call) url(path string) string { return "/t/" + c.Org + "/console/" + path }

// adminHandler serves a signed-in administrator's request.
type adminHandler func(w http.ResponseWriter, r *http.Request, c *call)

// signedIn wraps fn: without a live session it leads to the sign-in page;
// with one, the request's context attributes writes to the administrator
// (resources.AdminActor) and fn runs.
func (h *Handler) signedIn(fn adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		org := r.PathValue("org")
		ad, s, err := h.svc.Admins.Session(r.Context(), org, sessionSecret(r))
		if errors.Is(err, resources.ErrSignedOut) {
			http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/t/"+org+"/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.message(w, r, nil, http.StatusUnauthorized, "Please sign in again", []string{resources.ErrSignedOut.Detail + " Nothing was changed."},
				&link{Href: "/t/" + org + "/console/signin", Text: "Sign in"})
			return
		}
		if err != nil {
			h.failed(w, r, nil, err)
			return
		}
		r = r.WithContext(resources.WithActor(r.Context(), resources.AdminActor(ad.ID)))
		fn(w, r, &call{Org: org, Admin: ad, Session: s})
	}
}

// form wraps fn, a form submission of a signed-in administrator: the body is
// read (bounded) and its CSRF token checked against the session's before fn
// runs; a failed check changes nothing.
func (h *Handler) form(fn adminHandler) http.HandlerFunc {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request, c *call) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.message(w, r, c, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read. Go back and try again."}, nil)
			return
		}
		sent := r.PostFormValue("csrf")
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(c.Session.CSRF)) != 1 {
			h.message(w, r, c, http.StatusForbidden, "Form expired", []string{"For your security, this form has expired and nothing was changed. Go back, reload the page and try again."}, nil)
			return
		}
		fn(w, r, c)
	})
}

// ownerOnly wraps fn so that only owners reach it: a collaborator gets 403
// and nothing changes. The domain services check again.
func (h *Handler) ownerOnly(fn adminHandler) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		if !c.Admin.IsOwner() {
			h.message(w, r, c, http.StatusForbidden, "Owners only", []string{"Only an owner of the organization can do this. You are a collaborator; nothing was changed."}, nil)
			return
		}
		fn(w, r, c)
	}
}

// sessionSecret is the request's session secret.
func sessionSecret(r *http.Request) resources.Secret {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return resources.Secret(c.Value)
}

// cookie returns a cookie scoped to this organization's console.
func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return web.Cookie(name, value, consolePath(r), maxAge, h.cfg.SecureCookies)
}

// consolePath is the path of the request's organization's console.
func consolePath(r *http.Request) string { return "/t/" + r.PathValue("org") + "/console/" }

// startSession gives the browser the session's secret.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, secret resources.Secret) {
	http.SetCookie(w, h.cookie(r, sessionCookie, secret.Reveal(), 0))
}

// preSessionCSRF returns the double-submit CSRF token of a form shown
// before sign-in, setting its cookie when the browser has none.
func (h *Handler) preSessionCSRF(w http.ResponseWriter, r *http.Request) string {
	return web.CSRFToken(w, r, csrfCookie, consolePath(r), h.cfg.SecureCookies)
}

// parsePreSessionForm reads a bounded form shown before sign-in and checks
// its double-submit token; ok false means it answered already.
func (h *Handler) parsePreSessionForm(w http.ResponseWriter, r *http.Request) (csrfOK, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, nil, http.StatusBadRequest, "Form not accepted", []string{"The form could not be read. Go back and try again."}, nil)
		return false, false
	}
	return web.CSRFMatches(r, csrfCookie), true
}

// flash tells the page a successful form redirects to what happened.
func (h *Handler) flash(w http.ResponseWriter, r *http.Request, text string) {
	http.SetCookie(w, h.cookie(r, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(text)), 60))
}

// takeFlash returns the request's flash and clears it.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, h.cookie(r, flashCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	return string(b)
}

// redirect answers a successful form: flash says what happened, then the
// browser goes to the console page path (relative to the console's root).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, c *call, path, flash string) {
	if flash != "" {
		h.flash(w, r, flash)
	}
	http.Redirect(w, r, c.url(path), http.StatusSeeOther)
}

// problem is an entry of a form's error summary, linking to its field.
type problem struct{ Field, Text string }

// link is a call to action.
type link struct{ Href, Text string }

// view is what every console page renders: the layout's parts, and the
// page's own Data.
type view struct {
	Title string
	// Org is the organization's slug; OrgName its display name (the slug
	// when it has none).
	Org, OrgName string
	// Admin is the signed-in administrator (nil on the sign-in pages).
	Admin *resources.Admin
	// Nav is the section the page belongs to ("users", "groups",
	// "settings", "account"), highlighted in the navigation.
	Nav string
	// CSRF is the token every form of the page carries.
	CSRF string
	// Flash says what the previous form did; Alert is a problem with the
	// page's form, Problems its entries linked to their fields.
	Flash, Alert string
	Problems     []problem
	Paragraphs   []string
	Link         *link
	// Data is the page's own content.
	Data any
}

// page renders the page name for a signed-in administrator (c), or a
// page shown before sign-in (c nil).
func (h *Handler) page(w http.ResponseWriter, r *http.Request, c *call, status int, name string, v view) {
	v.Org = r.PathValue("org")
	v.OrgName = v.Org
	if s, err := h.svc.Orgs.Settings(r.Context(), v.Org); err == nil && s.DisplayName != "" {
		v.OrgName = s.DisplayName
	}
	if c != nil {
		v.Admin = &c.Admin
		v.CSRF = c.Session.CSRF
	}
	if v.Flash == "" && status < 300 {
		v.Flash = h.takeFlash(w, r)
	}
	if v.Alert == "" && len(v.Problems) > 0 {
		v.Alert = "There is a problem"
	}
	t, ok := h.pages[name]
	if !ok {
		h.log.ErrorContext(r.Context(), "no such console page", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "render console page", "page", name, "err", err)
	}
}

// message renders a page of paragraphs and an optional link.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, c *call, status int, title string, paragraphs []string, l *link) {
	h.page(w, r, c, status, "message", view{Title: title, Paragraphs: paragraphs, Link: l})
}

// failed answers an error no form can show: a resources.Error as a page
// with its status and detail, an unavailable store as 503 with
// Retry-After, anything else logged with its cause and shown as a generic
// 500 page.
func (h *Handler) failed(w http.ResponseWriter, r *http.Request, c *call, err error) {
	var e resources.Error
	switch {
	case errors.Is(err, context.Canceled):
		return // the client left
	case resources.ErrorCode(err) == resources.Unavailable:
		h.log.WarnContext(r.Context(), "console page unavailable", "org", r.PathValue("org"), "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		text := "This page cannot be reached for a moment, and nothing was changed. Please try again in a few seconds."
		if errors.Is(err, resources.ErrOutcomeUnknown) {
			text = "The change could not be confirmed: it may have been made. Wait a few seconds, then check before trying again."
		}
		h.message(w, r, c, http.StatusServiceUnavailable, "Please try again shortly", []string{text}, nil)
	case errors.As(err, &e):
		status, title := statusOf(e.Code)
		h.message(w, r, c, status, title, []string{e.Detail}, nil)
	default:
		h.log.ErrorContext(r.Context(), "console page failed", "org", r.PathValue("org"), "method", r.Method, "path", r.URL.Path, "err", err)
		h.message(w, r, c, http.StatusInternalServerError, "Something went wrong",
			[]string{"Something went wrong on our side, and nothing was changed. Please try again in a few minutes."}, nil)
	}
}

// statusOf is the HTTP status and page title of a domain error code.
func statusOf(code resources.Code) (int, string) {
	switch code {
	case resources.NotFound:
		return http.StatusNotFound, "Not found"
	case resources.Forbidden:
		return http.StatusForbidden, "Not allowed"
	case resources.Unauthorized:
		return http.StatusUnauthorized, "Please sign in again"
	case resources.Uniqueness, resources.Conflict:
		return http.StatusConflict, "Not possible"
	case resources.PreconditionFailed:
		return http.StatusPreconditionFailed, "Changed by someone else"
	default:
		return http.StatusBadRequest, "Not accepted"
	}
}

// detail is the person-readable detail of a domain error, "" for others.
func detail(err error) string {
	var e resources.Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}

// userError reports whether err is a domain error a form can show next to
// its fields (bad input, a taken name, a stale version): not an outage or
// a bug.
func userError(err error) bool {
	switch resources.ErrorCode(err) {
	case 0, resources.Unavailable:
		return false
	}
	return true
}

// textProblem is what is wrong with a name typed into a form, "" if
// nothing: it must be valid UTF-8 without control characters (line breaks,
// escapes, bidirectional overrides), which a form never needs and which
// would reach mail and other pages as they are.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "contains bytes that are not valid text"
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	}) {
		return "cannot contain control characters such as line breaks"
	}
	return ""
}

// checkPassword runs check within the limit on failed authentications
// (Config.Limiter); false means it answered 429.
func (h *Handler) checkPassword(w http.ResponseWriter, r *http.Request, check func() (failed bool)) bool {
	wait, ok := web.WithinLimit(h.cfg.Limiter, r, check)
	if !ok {
		secs := max(int(math.Ceil(wait.Seconds())), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		h.message(w, r, nil, http.StatusTooManyRequests, "Too many attempts", []string{
			"There were too many failed attempts from your address. Please wait " + strconv.Itoa(secs) + " seconds and try again.",
		}, nil)
	}
	return ok
}

// pager is a list's paging: 1-based page, of size, total items.
type pager struct {
	Page, Size, Total int
	// Query is the list's other parameters, kept across pages.
	Query string
}

// Pages is the number of pages.
func (p pager) Pages() int { return max(1, (p.Total+p.Size-1)/p.Size) }

// Prev and Next are the neighbouring pages' numbers, 0 when there is none.
func (p pager) Prev() int {
	if p.Page > 1 {
		return p.Page - 1
	}
	return 0
}

// Next is the following page's number, 0 when this is the last.
func (p pager) Next() int {
	if p.Page < p.Pages() {
		return p.Page + 1
	}
	return 0
}

// First and Last are the 1-based positions of the page's first and last
// items.
func (p pager) First() int { return min((p.Page-1)*p.Size+1, p.Total) }

// Last is the position of the page's last item.
func (p pager) Last() int { return min(p.Page*p.Size, p.Total) }

// Href is the address of page n.
func (p pager) Href(n int) string {
	q := "page=" + strconv.Itoa(n)
	if p.Query != "" {
		q = p.Query + "&" + q
	}
	return "?" + q
}

// pageParam reads ?page=, at least 1 and at most limit.
func pageParam(r *http.Request, limit int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, limit)
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006")
}

func formatDateTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}
