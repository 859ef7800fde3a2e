// Package resources is scimd's domain: customer Users and Groups, the rules that
// govern them (validation against the schemas, userName immutability, write-only
// passwords, read-only computed groups, membership), onboarding (invitations,
// temporary passwords, self-registration, the organization's onboarding policy
// and userName format: onboarding.go), SCIM filter evaluation and PATCH
// application (RFC 7644 §3.4.2.2, §3.5.2). Attribute facts (type, mutability,
// returned, uniqueness) come from package schemas and are compared through its
// typed vocabulary, never as strings.
//
// It knows nothing of HTTP or Redis. It declares the small store interfaces it
// needs ([UserStore], [GroupStore], [TokenStore], [OnboardingStore],
// [RegistrationStore]); package backend implements them. Nor does it know
// web addresses or mail: the services tell a [Notifier] what happened, as a
// [Notice] ([Invitation], [PasswordReset], [RegistrationConfirmation],
// [AlreadyRegistered], [AdminInvitation]) carrying the token, and package
// scim/notify turns it into an email that links to the pages.
// Errors a client may see are [Error] values whose [Code] package scim maps to an
// HTTP status and scimType.
package resources
