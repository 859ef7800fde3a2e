// Package accounts serves the customer pages of scimd under
// /t/{org}/accounts/: where a customer accepts an invitation by choosing a
// password, signs in to see their profile, replaces a temporary password,
// and (where the organization allows it) registers and confirms their
// address. They are plain HTML forms (html/template, embedded), without
// JavaScript, and name the organization by its display name (Config.Orgs),
// else its slug.
//
// # Routes
//
//	GET  /t/{org}/accounts/invite?token=T   the invitation form (from the emailed link)
//	POST /t/{org}/accounts/invite           set the password: the account becomes active
//	GET  /t/{org}/accounts/login            the sign-in form
//	POST /t/{org}/accounts/login            sign in: on to the profile; a temporary password leads on to change-password
//	GET  /t/{org}/accounts/profile          the signed-in customer's email, name and account state, and sign-out
//	POST /t/{org}/accounts/signout          end the session: back to sign-in, which says so
//	GET  /t/{org}/accounts/change-password  choose a new password (after signing in with a temporary one)
//	POST /t/{org}/accounts/change-password  replace the temporary password: the account becomes active
//	GET  /t/{org}/accounts/forgot-password  "forgot your password?": the address to send a reset link to
//	POST /t/{org}/accounts/forgot-password  always leads on to "reset-requested"
//	GET  /t/{org}/accounts/reset-requested  "check your email", whatever the address
//	GET  /t/{org}/accounts/done             after a password form: what it did (else on to sign-in)
//	GET  /t/{org}/accounts/register         the self-registration form
//	POST /t/{org}/accounts/register         register: always leads on to "registered"
//	GET  /t/{org}/accounts/registered       "check your email"
//	GET  /t/{org}/accounts/confirm?token=T  the confirmation form (from the emailed link; changes nothing)
//	POST /t/{org}/accounts/confirm          confirm with the password chosen at registration: the account becomes active
//	GET  /t/{org}/accounts/confirmed        after a confirmation: what it did (else on to sign-in)
//	GET  /t/{org}/accounts/style.css        the pages' style sheet
//
// # Forms and their errors
//
// A form that is refused comes back with an error summary at the top
// (GOV.UK's pattern): "There is a problem", then each problem once, as a
// link to its field, which is marked aria-invalid and described by it. A
// new password's problems are all listed at once
// (resources.PasswordProblems), with a mismatched confirmation beside them,
// so that a customer does not fix one only to meet the next.
//
// # Sessions
//
// Signing in with a password that is not temporary starts a session
// (resources.CustomerSessions, Config.Sessions): an HttpOnly cookie holds
// its secret, the store only its hash. It ends on sign-out, after
// resources.CustomerSessionTTL, and as soon as the account is deleted or
// disabled, may no longer sign in, or its password changes. The profile is
// the only page it opens.
//
// # Forgotten passwords
//
// The sign-in page links to a form asking for an address. Every accepted
// form leads to the same "check your email" page, at the same speed: the
// handler answers first and then, apart from the request
// (resources.Users.RequestPasswordReset, bounded by a minute; Handler.Wait
// lets a shutdown finish it), looks the address up and emails a reset link
// only to an enabled account with a password (active or
// passwordChangeRequired). That link is the one an administrator's
// resendInvitation sends: single use, expiring with the invitations'
// lifetime, revoking the one sent before, dead once the password changes or
// the account is disabled or deleted; the old password works until it is
// used. Unknown addresses, accounts waiting for an invitation or a
// confirmation, and disabled accounts get nothing. The form is a POST of the
// public pages, so scim.Handler.LimitPublic limits it per client address.
//
// # Security
//
// Every response carries Cache-Control: no-store, Referrer-Policy: no-referrer
// (the invitation URL holds its token), a Content-Security-Policy allowing
// only the server's own style sheet and no framing, and nosniff. Every POST
// form carries a CSRF token that must match a cookie (double submit, the
// cookie SameSite=Strict and HttpOnly). After a sign-in with a temporary
// password the change-password page is reached with a single-use ticket
// (resources.Users.StartPasswordChange) in an HttpOnly cookie: the password
// itself is never put in a page. Failed sign-ins all read "Invalid email or
// password". Failed sign-ins and wrong passwords on the confirmation page
// count toward the server's limit on failed authentications per address
// (Config.Limiter, the one /Me and bearer tokens count toward); a blocked
// address gets 429 with Retry-After. Tokens, tickets, session secrets and
// passwords are never logged.
//
// The organization in the path scopes everything: an invitation, ticket or
// confirmation of another organization is simply not found.
//
// # Self-registration
//
// The register, registered, confirm and confirmed pages answer 404
// "Registration is not available", and change nothing, unless the
// organization turned self-registration on (scimd org set --name ORG
// --self-registration on). A valid registration form always leads to the same
// "check your email" page, whether the address was new (an account waiting
// for confirmation is created and a link emailed), was waiting for
// confirmation (the registration is replaced and a new link emailed),
// already had an account (nothing is created; its owner is told by email), or
// the email could not be sent: the page does not tell which addresses have
// accounts. The emailed link opens a form; only its POST confirms, because
// mail scanners fetch links, and only with the password chosen at
// registration, because whoever registered an address need not own it.
package accounts
