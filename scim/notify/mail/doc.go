// Package mail delivers the emails package notify renders (invitations,
// password resets, registration notices): [SMTP] sends them through a mail
// server (STARTTLS on port 587, or implicit TLS on port 465, RFC 8314),
// and [Outbox], the development default, writes each one as an RFC 5322
// .eml file into a directory, where a developer opens it with any mail
// client, or lists the messages and their links with [ReadOutbox]
// (scimd outbox).
//
// Both implement notify.Mailer and compose the message one way: a
// multipart/alternative body (RFC 2046 §5.1.4) with a plain-text and an HTML
// part, quoted-printable, UTF-8 (RFC 2045), and From, To, Subject, Date,
// Message-ID and MIME-Version headers (RFC 5322 §3.6).
//
// # Secrets
//
// Message bodies carry invitation links, which are credentials until used;
// the SMTP password is one too. Neither appears in an error or a log line:
// errors name the stage of delivery that failed (connect, TLS, greeting,
// STARTTLS, AUTH, MAIL, RCPT, DATA), the setting that would fix a TLS
// mismatch (SMTP.StartTLSSetting, SMTP.TLSSetting), and the server's reply
// code and enhanced status code, never the text of its reply (servers quote the recipient's address and the
// message, link included, in it), the message or the recipient. Outbox files
// are written with mode 0600 in a directory created with mode 0700.
package mail
