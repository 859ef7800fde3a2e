// Package console serves the administrators' console under
// /t/{org}/console/: where an organization's owners and collaborators
// manage its customers and groups in a browser, as the customer-management
// guide walks through (Manage > Users, New User > Customer, groups,
// deletion after typing the username), and where owners manage the
// organization's settings, API tokens, administrators and audit trail.
//
// The pages are server-rendered HTML (html/template, embedded), fully usable
// without JavaScript, sharing the customer pages' style sheet. They call the
// same domain services as the SCIM API (resources.Users, resources.Groups,
// resources.Admins, resources.Orgs): one write path, one audit trail, every
// change attributed to the administrator (resources.AdminActor).
//
// # Sessions and security
//
// An administrator signs in with their email and password, with an
// invitation link (choosing their password), or with the single-use
// sign-in link scimd prints at a fresh start of the embedded store. The
// session lives in the store (revocable, ended by sign-out, by a password
// change elsewhere, by removal, after an idle and an absolute timeout); the
// browser holds only its secret, in an HttpOnly, SameSite=Strict cookie
// scoped to the organization's console, Secure when the public URL is
// https. Every form carries the session's CSRF token (forms before sign-in:
// a double-submit cookie). Failed sign-ins count against the server's limit
// of failed authentications per address. Every action is authorized on the
// server by role: owner-only pages and forms answer a collaborator 403 and
// change nothing, and the domain services check again.
//
// Every response carries Cache-Control: no-store, Referrer-Policy:
// no-referrer, a Content-Security-Policy without inline script and without
// framing, and nosniff. No customer password or hash, token secret (after
// its creation page), session secret or link token is ever written to a log,
// an audit entry or a page other than the one it belongs to.
package console
