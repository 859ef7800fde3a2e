package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"time"

	"github.com/scimd/scimd/resources"
)

var _ resources.Mailer = (*SMTP)(nil)

// StartTLS says whether an [SMTP] mailer upgrades its connection with
// STARTTLS (RFC 3207).
type StartTLS string

// STARTTLS modes.
const (
	// StartTLSRequired refuses to send unless the server offers STARTTLS and
	// the upgrade succeeds: the default, for port 587 (RFC 8314 §3.3).
	StartTLSRequired StartTLS = "required"
	// StartTLSOptional upgrades when the server offers it and otherwise sends
	// in clear text. Credentials are still never sent in clear text to a
	// server other than localhost (see [SMTP.Username]).
	StartTLSOptional StartTLS = "optional"
	// StartTLSOff never upgrades: for a relay on localhost or a trusted
	// network.
	StartTLSOff StartTLS = "off"
)

// Valid reports whether m is a known mode.
func (m StartTLS) Valid() bool {
	return m == StartTLSRequired || m == StartTLSOptional || m == StartTLSOff
}

// DefaultTimeout is how long one [SMTP.Send] may take when its context has
// no deadline.
const DefaultTimeout = 30 * time.Second

// SMTP sends messages through a mail server (RFC 5321): a connection per
// message, STARTTLS as [SMTP.StartTLS] says, AUTH PLAIN (RFC 4616) when a
// username is set.
type SMTP struct {
	// Host and Port locate the server (submission is port 587).
	Host string
	Port int
	// StartTLS is the STARTTLS mode; "" is [StartTLSRequired].
	StartTLS StartTLS
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN. The password is sent only over TLS, or to localhost (net/smtp
	// refuses otherwise), and never appears in an error.
	Username string
	Password resources.Secret
	// From is the sender: a bare address or "Name <address>".
	From string
	// TLSConfig, when set, configures STARTTLS (for a private CA); by
	// default the server's certificate is verified against the system roots
	// for Host.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO; "" is "localhost".
	LocalName string
	// Timeout bounds a Send whose context has no deadline; 0 is
	// [DefaultTimeout].
	Timeout time.Duration
}

// Send delivers m. It connects, upgrades with STARTTLS and authenticates as
// configured, and sends one message to one recipient. ctx cancels it at any
// stage.
func (s *SMTP) Send(ctx context.Context, m resources.Message) error {
	env, err := compose(s.From, m, time.Now())
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := s.send(ctx, env); err != nil {
		return fmt.Errorf("smtp %s: %w", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, env envelope) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancelling ctx unblocks whatever read or write is in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return fmt.Errorf("greeting: %w", ctxErr(ctx, err))
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return fmt.Errorf("EHLO: %w", ctxErr(ctx, err))
	}
	mode := s.StartTLS
	if mode == "" {
		mode = StartTLSRequired
	}
	if mode != StartTLSOff {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
			if s.TLSConfig != nil {
				cfg = s.TLSConfig.Clone()
				if cfg.ServerName == "" {
					cfg.ServerName = s.Host
				}
			}
			if err := c.StartTLS(cfg); err != nil {
				return fmt.Errorf("STARTTLS: %w", ctxErr(ctx, err))
			}
		} else if mode == StartTLSRequired {
			return errors.New("the server does not offer STARTTLS, which is required (set STARTTLS to optional or off to send in clear text)")
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server does not offer AUTH, but a username is configured")
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password.Reveal(), s.Host)); err != nil {
			return fmt.Errorf("AUTH PLAIN: %w", ctxErr(ctx, err))
		}
	}
	if err := c.Mail(env.from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", ctxErr(ctx, err))
	}
	if err := c.Rcpt(env.to); err != nil {
		return fmt.Errorf("RCPT TO: %w", ctxErr(ctx, err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", ctxErr(ctx, err))
	}
	if _, err := bytes.NewReader(env.data).WriteTo(w); err != nil {
		return fmt.Errorf("DATA: %w", ctxErr(ctx, err))
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", ctxErr(ctx, err))
	}
	// The message was accepted at the end of DATA; a failed QUIT does not
	// undo that.
	_ = c.Quit()
	return nil
}

// ctxErr prefers the context's error to the I/O error its cancellation
// caused.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // the connection's deadline is the context's
	}
	if cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
