package accounts

import (
	"context"
	"net/http"
	"time"

	"github.com/scimd/scimd/scim/web"
)

// Forgot password: a form asks for an address (a username under
// userNameFormat "any"); whatever was typed, the answer is the same "check
// your email" page, reached as fast (resources.Users.RequestPasswordReset
// does the work after the answer, and mails the account's address).

// resetWorkTimeout bounds the work a forgot-password form starts after its
// answer: the account lookup and the email.
const resetWorkTimeout = time.Minute

// renderForgot shows the forgot-password form, whose one input is the
// account's name (signInField) under userNameFormat format.
func (h *Handler) renderForgot(w http.ResponseWriter, r *http.Request, status int, format, login, alert, errMsg string) {
	fields := []web.Field{signInField(login, format, errMsg)}
	h.render(w, r, status, "forgot-password", page{Title: "Forgot your password?", CSRF: h.csrfToken(w, r), Alert: alert,
		Errors: fieldErrors(fields), Fields: fields, AnyUserNames: anyUserNames(format)})
}

func (h *Handler) forgotForm(w http.ResponseWriter, r *http.Request) {
	h.renderForgot(w, r, http.StatusOK, h.userNameFormat(r), "", "", "")
}

// forgotPassword answers a forgot-password form with the same redirect to
// "reset-requested" for every address (or username), and then, apart from
// the request, looks it up and emails a reset link to an account that has a
// password. Doing the lookup and the email after the answer keeps the
// answer's timing the same for every address: an existing account costs an
// email (a mail server's round trips), an unknown one nothing, and a
// visitor must not tell the two apart. Failures are logged, without the
// address or the link. The form counts toward the public pages' per-address
// limit (scim.Handler.LimitPublic) like every form.
func (h *Handler) forgotPassword(w http.ResponseWriter, r *http.Request) {
	csrfOK, ok := h.parseForm(w, r)
	if !ok {
		return
	}
	login, format := signInValue(r), h.userNameFormat(r)
	if !csrfOK {
		h.renderForgot(w, r, http.StatusForbidden, format, login, expiredForm, "")
		return
	}
	if login == "" {
		what := "email address"
		if anyUserNames(format) {
			what = "username"
		}
		h.renderForgot(w, r, http.StatusBadRequest, format, login, "", "Enter the "+what+" of your account.")
		return
	}
	org := r.PathValue("org")
	// The whole answer goes out before the work starts (a Content-Length,
	// so that the client need not wait for the handler's end), so that the
	// work's CPU does not delay it either.
	w.Header().Set("Location", "reset-requested")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusSeeOther)
	_ = http.NewResponseController(w).Flush()
	// The work outlives the request, with its own deadline; Wait lets a
	// shutdown finish it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), resetWorkTimeout)
	h.background.Add(1)
	go func() {
		defer h.background.Done()
		defer cancel()
		if err := h.users.RequestPasswordReset(ctx, org, login); err != nil {
			h.log.ErrorContext(ctx, "password reset request failed", "org", org, "err", err)
		}
	}()
}

// resetRequested is the one answer to every forgot-password form.
func (h *Handler) resetRequested(w http.ResponseWriter, r *http.Request) {
	org := h.orgName(r)
	if anyUserNames(h.userNameFormat(r)) {
		h.message(w, r, http.StatusOK, "Check your email", []string{
			"If an account with a password exists for the username you entered, we sent a link to choose a new password to its email address. The link works once and expires; the message says when. Your current password keeps working until you use it.",
			"No message after a few minutes? Check your spam folder, and that you typed the username of your account. If your account has no email address, or is waiting for an invitation, ask an administrator of " + org + " for a link.",
		}, &link{Href: "login", Text: "Back to sign in"})
		return
	}
	h.message(w, r, http.StatusOK, "Check your email", []string{
		"If an account with a password exists for the address you entered, we sent it a link to choose a new password. The link works once and expires; the message says when. Your current password keeps working until you use it.",
		"No message after a few minutes? Check your spam folder, and that you typed the address of your account. If your account is waiting for an invitation, ask an administrator of " + org + " to send it again.",
	}, &link{Href: "login", Text: "Back to sign in"})
}

// Wait blocks until the work that forgot-password forms started after their
// answers (a lookup and an email each, bounded by a minute) is done. Call it
// after the server stopped taking requests, so that a shutdown does not cut
// an email short.
func (h *Handler) Wait() { h.background.Wait() }
