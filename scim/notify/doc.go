// Package notify tells people by email what the domain says happened: it
// implements resources.Notifier. The domain's notices (resources.Invitation,
// resources.PasswordReset, resources.RegistrationConfirmation,
// resources.AlreadyRegistered, resources.AdminInvitation) say what happened
// and carry the token; this package owns how that reads and where it links:
//
//   - the paths of the pages the mails link to ([Invite], [Confirm],
//     [SignIn], [AdminAccept], [AdminSignIn]), which the routes of
//     scim/accounts and scim/console are registered with, so that a path is
//     written once, and the server's public URL the links start with;
//   - the mails' wording: embedded templates (templates/*.txt), one per
//     notice, rendered as the plain-text body and, in one HTML layout, as
//     the HTML body, so the two alternatives cannot say different things;
//   - a [Message] handed to a [Mailer]: package mail composes it (one
//     multipart/alternative RFC 5322 message) and sends it over SMTP or
//     writes it to the development outbox.
//
// # Templates
//
// A notice's template (templates/<notice>.txt, text/template) defines the
// blocks "subject", "button" (the label of the link's button) and "before"
// and "after" (the paragraphs before and after the link, separated by blank
// lines). layout.txt and layout.html render them, with a greeting and the
// link, as the two bodies; in HTML every paragraph is escaped. A notice
// whose HTML paragraphs carry markup (the invitation's bold organization)
// also has templates/<notice>.html (html/template) defining its own
// "before" and "after".
//
// # Secrets
//
// Links carry single-use tokens, which are credentials until used: a
// [Message] is never logged, and Notify's errors are the mailer's, which
// never quote the message. Package mail states the same of its transports.
package notify
