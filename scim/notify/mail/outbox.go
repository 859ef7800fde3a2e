package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/scimd/scimd/scim/notify"
)

var _ notify.Mailer = (*Outbox)(nil)

// outboxTimeLayout is the time an outbox file's name starts with (UTC, to
// the nanosecond): names sort as the messages were written.
const outboxTimeLayout = "20060102T150405.000000000Z"

// Outbox is the development mailer: it writes each message as an RFC 5322
// .eml file into Dir instead of sending it. A file name starts with the UTC
// time it was written, so the newest message sorts last.
type Outbox struct {
	// Dir is the outbox directory, created (mode 0700) on the first message.
	Dir string
	// From is the sender: a bare address or "Name <address>".
	From string
	// Log, when set, gets a line naming each file written ("scimd outbox"
	// prints its links); never the recipient or the link.
	Log *slog.Logger
}

// Send writes m into the outbox. The file (mode 0600) appears whole or not
// at all: it is written under a temporary name and renamed.
func (o *Outbox) Send(ctx context.Context, m notify.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now().UTC()
	env, err := compose(o.From, m, now)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := now.Format(outboxTimeLayout) + "-" + randomHex(4) + ".eml"
	tmp, err := os.CreateTemp(o.Dir, ".writing-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(env.data); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: write %s: %w", tmp.Name(), err)
	}
	path := filepath.Join(o.Dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if o.Log != nil {
		o.Log.InfoContext(ctx, "mail written to the outbox", "file", path)
	}
	return nil
}
