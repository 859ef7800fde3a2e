// Package scim is scimd's HTTP protocol layer (RFC 7644): routing of /Users and
// /Groups, bearer-token authentication and roles, request decoding and body
// limits, ETag preconditions, list paging and filtering, attribute projection,
// the discovery endpoints, and the one table that maps domain errors to SCIM
// error responses.
//
// # Routes and errors
//
// Routes are the standard library ServeMux's method patterns ("GET
// /scim/v2/Users/{id}"), registered by Handler.route, which also answers any
// other method on a known path with a SCIM 405 naming the allowed ones in
// Allow, behind authentication like the path's handlers. Handlers return
// their error instead of writing it; writeError renders every error in one
// place: classify maps a domain error ([resources.Error], through the
// errorKinds table) or a protocol one (405, 429, 501) to its status,
// scimType, detail and Retry-After, and anything else to a logged 500.
// A path's Allow names the methods it serves (HEAD with GET); a method
// answered by a refusal of its own (DELETE /Me: 403) is not among them. /Me
// (me.go) authenticates the customer in a middleware and then shares the PUT
// and PATCH handling of /Users/{id} (writeOne: If-Match, body, write,
// answer). Defaults of the limits of [Config] are named constants
// ([DefaultPageSize], [DefaultMaxBulkOperations], ...).
//
// # Below it
//
// scim/accounts serves the customer pages and scim/console the
// administrators'; scim/notify turns the domain's notices into mail and owns
// the pages' link paths and the mail templates, scim/notify/mail composes
// and delivers the message. scim/webtest (the pages' shared test support),
// scim/web/browsertest and scim/notify/mailtest are imported by tests only;
// so is internal/logtest, a log buffer any package's tests may read.
//
// github.com/elimity-com/scim's schema package supplies the schema
// definitions (via package schemas) that the discovery endpoints serve;
// /Schemas states the userName rule of the organization whose token asks.
//
// # Administration
//
// Owners manage their organization's API tokens at /admin/v1/tokens
// (tokens.go; a token may carry its own onboarding policy) and its
// onboarding policy and userName format at /admin/v1/settings (settings.go).
// A request's token puts its onboarding override in the context
// ([resources.WithOnboarding]) for the domain to apply.
package scim
