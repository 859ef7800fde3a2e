package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// OutboxMessage is one message of an outbox directory, as [ReadOutbox]
// reads it back.
type OutboxMessage struct {
	// File is the message's path.
	File string
	// Time is when it was written: the time its name starts with (an
	// [Outbox] names files so), else its Date header, else the file's
	// modification time.
	Time time.Time
	// To and Subject are its headers, decoded; To is the bare address
	// when it has no display name.
	To, Subject string
	// Links are the http(s) links of its plain-text part, decoded from
	// quoted-printable, in order: the invitation, reset or confirmation
	// link a developer opens. They are credentials until used.
	Links []string
}

// linkRE matches a link in a message's plain text, where the templates put
// each on a line of its own.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// ReadOutbox reads the messages an [Outbox] wrote into dir, newest first. A
// directory that does not exist yet has no messages. Files that are not
// .eml, or are being written, are skipped; a message that does not parse is
// an error naming its file.
func ReadOutbox(dir string) ([]OutboxMessage, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var msgs []OutboxMessage
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		m, err := readOutboxFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		msgs = append(msgs, m)
	}
	// Newest first; the names (UTC time, then a random suffix) break ties.
	slices.SortStableFunc(msgs, func(a, b OutboxMessage) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.File, a.File)
	})
	return msgs, nil
}

// readOutboxFile reads one .eml file as [compose] wrote it.
func readOutboxFile(path string) (OutboxMessage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return OutboxMessage{}, err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return OutboxMessage{}, err
	}
	out := OutboxMessage{File: path, To: msg.Header.Get("To")}
	if to, err := mail.ParseAddress(out.To); err == nil && to.Name == "" {
		out.To = to.Address
	}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		out.Subject = msg.Header.Get("Subject")
	}
	if out.Time, err = writtenAt(path, msg.Header); err != nil {
		return OutboxMessage{}, err
	}
	text, err := plainText(msg)
	if err != nil {
		return OutboxMessage{}, err
	}
	out.Links = linkRE.FindAllString(text, -1)
	return out, nil
}

// writtenAt is when the message in path was written: see
// [OutboxMessage.Time].
func writtenAt(path string, h mail.Header) (time.Time, error) {
	name, _, _ := strings.Cut(filepath.Base(path), "-")
	if t, err := time.Parse(outboxTimeLayout, name); err == nil {
		return t, nil
	}
	if t, err := h.Date(); err == nil {
		return t, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return info.ModTime(), nil
}

// plainText returns the decoded text/plain part of msg (or its body, when it
// is not multipart).
func plainText(msg *mail.Message) (string, error) {
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		body, err := io.ReadAll(decoded(msg.Body, msg.Header.Get("Content-Transfer-Encoding")))
		return string(body), err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
			body, err := io.ReadAll(decoded(p, p.Header.Get("Content-Transfer-Encoding")))
			return string(body), err
		}
	}
}

// decoded undoes a quoted-printable transfer encoding.
func decoded(r io.Reader, encoding string) io.Reader {
	if strings.EqualFold(encoding, "quoted-printable") {
		return quotedprintable.NewReader(r)
	}
	return r
}
