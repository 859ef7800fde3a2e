package notify

import "context"

// Message is an email to one customer. Its bodies may hold a secret (an
// invitation link), so a Message is never logged; log its Subject at most.
type Message struct {
	// To is the recipient's address ("jane@example.com").
	To string
	// Subject is the subject line.
	Subject string
	// Text is the plain-text body; HTML the same content as HTML. A mailer
	// sends both, as alternatives (RFC 2046 §5.1.4).
	Text, HTML string
}

// Mailer delivers email. Package mail implements it over SMTP and, for
// development, into a local outbox directory; package mailtest keeps it in
// memory for tests.
type Mailer interface {
	// Send delivers m, or reports why it could not. Errors never quote the
	// message's bodies.
	Send(ctx context.Context, m Message) error
}
