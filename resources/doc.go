// Package resources is scimd's domain: customer Users and Groups, the rules that
// govern them (validation against the schemas, userName immutability, write-only
// passwords, read-only computed groups, membership), onboarding (invitations,
// temporary passwords, self-registration, the organization's onboarding policy
// and userName format: onboarding.go), SCIM filter evaluation and PATCH
// application (RFC 7644 §3.4.2.2, §3.5.2). Attribute facts (type, mutability,
// returned, uniqueness) come from package schemas and are compared through its
// typed vocabulary, never as strings.
//
// It imports nothing of HTTP or Redis (net/http, go-redis). It declares the
// small store interfaces it needs ([UserStore], [GroupStore], [TokenStore],
// [OnboardingStore], [RegistrationStore]); package backend implements them.
// Nor does it know web addresses or mail: the services tell a [Notifier]
// what happened, as a [Notice] ([Invitation], [PasswordReset],
// [RegistrationConfirmation], [AlreadyRegistered], [AdminInvitation])
// carrying the token, and package scim/notify turns it into an email that
// links to the pages.
//
// Errors a client may see are [Error] values whose [Code] package scim maps,
// in one table, to an HTTP status and scimType. The codes are RFC 7644
// §3.12's, whose list is written in HTTP statuses (each code's comment names
// the status it becomes); one, [UnsupportedMediaType], only the HTTP layer
// raises, for a body that is not JSON: it is a code here so that that one
// table renders every client error.
//
// # Files
//
// One idea per file; the ones a reader looks for most:
//
//   - patch.go: PATCH parsing and application (RFC 7644 §3.5.2);
//   - coerce.go: a value checked against its attribute and put in canonical
//     form ([CoerceValue]), shared by POST/PUT validation (validate.go) and
//     PATCH;
//   - members.go: a Group's member operations ([SplitMemberOps],
//     [MemberChange]), a delta the store applies without rewriting the list;
//   - jsonvalue.go: helpers on decoded JSON values (copy, prune, elements,
//     presence, keys), used by all of the above;
//   - retry.go: retryWrites, the one read-apply-write-if-unchanged loop that
//     every conditional write of the domain runs (users, groups,
//     invitations, registration), with its bound and backoff;
//   - filtersyntax.go: the filter grammar, read into filter-parser's
//     expression types (the library's own reader cost 100 times more);
//     filter.go, filtertree.go, sort.go: those resolved against the schema
//     once into a [Filter], its evaluation and sorting on documents;
//   - users.go, groups.go, me.go: the services; invitations.go,
//     registration.go, password_reset.go, onboarding.go: onboarding;
//     admins.go, tokens.go, orgs.go: the console's administrators, API
//     tokens and organization settings; notices.go: what the [Notifier] is
//     told.
package resources
