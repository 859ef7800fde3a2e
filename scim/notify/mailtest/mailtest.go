// Package mailtest provides an in-memory [notify.Mailer] for tests: it keeps
// what is sent, and can be told to fail as an unreachable mail server does.
package mailtest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/scimd/scimd/scim/notify"
)

// ErrUnreachable is what Send returns while a Mailbox is set to fail.
var ErrUnreachable = errors.New("mail server unreachable")

// Mailbox is a [notify.Mailer] that keeps messages in memory. Its zero
// value is ready to use; it is safe for concurrent use.
type Mailbox struct {
	mu   sync.Mutex
	msgs []notify.Message
	fail bool
}

// Send keeps msg, or returns [ErrUnreachable] while the mailbox fails.
func (m *Mailbox) Send(_ context.Context, msg notify.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return ErrUnreachable
	}
	m.msgs = append(m.msgs, msg)
	return nil
}

// SetFail makes Send fail (true) or deliver again (false).
func (m *Mailbox) SetFail(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = fail
}

// Messages returns a copy of the messages sent so far, oldest first.
func (m *Mailbox) Messages() []notify.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]notify.Message(nil), m.msgs...)
}

// Last returns the newest message; the test fails when none was sent.
func (m *Mailbox) Last(tb testing.TB) notify.Message {
	tb.Helper()
	msgs := m.Messages()
	if len(msgs) == 0 {
		tb.Fatalf("no message was sent")
	}
	return msgs[len(msgs)-1]
}
