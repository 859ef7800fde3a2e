package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/scimd/scimd/scim/notify"
)

// envelope is a composed message and the addresses its SMTP envelope needs.
type envelope struct {
	from, to string // bare addresses
	data     []byte // the RFC 5322 message, CRLF line endings
}

// compose builds the RFC 5322 message of m from the address from (a bare
// address or "Name <address>"). It refuses addresses that do not parse, so
// that no header can be injected through them; the subject has its line
// breaks removed and is encoded as an RFC 2047 word when it is not ASCII.
func compose(from string, m notify.Message, date time.Time) (envelope, error) {
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return envelope{}, fmt.Errorf("invalid from address %q: %w", from, err)
	}
	toAddr, err := mail.ParseAddress(m.To)
	if err != nil {
		// Not wrapped: net/mail quotes the part it could not parse.
		return envelope{}, errors.New("invalid recipient address")
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(fromAddr.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return envelope{}, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return envelope{}, err
		}
		if err := qp.Close(); err != nil {
			return envelope{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return envelope{}, err
	}
	return envelope{from: fromAddr.Address, to: toAddr.Address, data: buf.Bytes()}, nil
}

// oneLine replaces line breaks, which would end a header early.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// messageID returns a unique Message-ID in the domain of the sender's
// address (RFC 5322 §3.6.4).
func messageID(from string) string {
	domain := "scimd.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	return "<" + randomHex(16) + "@" + domain + ">"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b)
}
