package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/scimd/scimd/scim/notify/mail"
)

const outboxUsage = `usage:
  scimd outbox [--dir DIR] [--count N]   list the development outbox's messages, newest first, with their links`

// outboxCommand implements "scimd outbox": the messages a server without
// SCIM_SMTP_HOST wrote into its outbox directory (--dir, else
// SCIM_MAIL_OUTBOX, else its default), newest first: time, recipient and
// subject, then each link, decoded, on a line of its own, ready to open.
// It reads local files only; the links are credentials until used, which is
// why the server's log names the file and never the link.
func outboxCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("scimd outbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The outbox is where scimd serve writes, by the same setting; its flag
	// here is -dir.
	var cfg Config
	if err := declare(nil, &cfg, getenv, settingsOf(&cfg, &cfg.MailOutbox)); err != nil {
		return err
	}
	dir := cfg.MailOutbox
	fs.StringVar(&dir, "dir", dir, "outbox directory")
	count := fs.Int("count", 10, "how many of the newest messages to print")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, outboxUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), outboxUsage)
	}
	if *count < 1 {
		return errors.New("--count must be at least 1")
	}
	msgs, err := mail.ReadOutbox(dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if len(msgs) == 0 {
		fmt.Fprintf(stdout, "No messages in the outbox %s.\n", dir)
		return nil
	}
	fmt.Fprintf(stdout, "%d message(s) in the outbox %s, newest first:\n", len(msgs), dir)
	for _, m := range msgs[:min(*count, len(msgs))] {
		fmt.Fprintf(stdout, "\n%s  to %s  %s\n", m.Time.UTC().Format("2006-01-02 15:04:05Z"), m.To, m.Subject)
		for _, l := range m.Links {
			fmt.Fprintf(stdout, "  %s\n", l)
		}
		fmt.Fprintf(stdout, "  (%s)\n", m.File)
	}
	return nil
}
