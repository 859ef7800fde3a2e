package mail

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"regexp"
	"strconv"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/notify"
)

var _ notify.Mailer = (*SMTP)(nil)

// StartTLS says whether an [SMTP] mailer upgrades its connection with
// STARTTLS (RFC 3207), unless it speaks TLS from the start ([SMTP.ImplicitTLS]).
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

// DefaultTimeout is how long one [SMTP.Send] may take, connecting included,
// unless [SMTP.Timeout] says otherwise. Mail is sent while a request waits
// (an invitation within POST /Users): a stalled server must fail it well
// before an identity provider gives up on the request and retries it.
const DefaultTimeout = 10 * time.Second

// SMTP sends messages through a mail server (RFC 5321): a connection per
// message, TLS from the first byte ([SMTP.ImplicitTLS]) or STARTTLS as
// [SMTP.StartTLS] says, AUTH PLAIN (RFC 4616) when a username is set.
type SMTP struct {
	// Host and Port locate the server (submission is port 587 with
	// STARTTLS, 465 with implicit TLS).
	Host string
	Port int
	// ImplicitTLS speaks TLS from the first byte, as submission on port
	// 465 expects (RFC 8314 §3.3); StartTLS then does not apply.
	ImplicitTLS bool
	// StartTLS is the STARTTLS mode; "" is [StartTLSRequired].
	StartTLS StartTLS
	// StartTLSSetting and TLSSetting are the names an operator knows the
	// StartTLS and ImplicitTLS settings by (scimd: SCIM_SMTP_STARTTLS and
	// SCIM_SMTP_TLS), which an error that a change of them fixes names;
	// "" names the fields.
	StartTLSSetting, TLSSetting string
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN. The password is sent only over TLS, or to localhost (net/smtp
	// refuses otherwise), and never appears in an error.
	Username string
	Password resources.Secret
	// From is the sender: a bare address or "Name <address>".
	From string
	// TLSConfig, when set, configures TLS (for a private CA); by
	// default the server's certificate is verified against the system roots
	// for Host.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO; "" is "localhost".
	LocalName string
	// Timeout bounds a whole Send, from connecting to the end of the
	// message (a context with an earlier deadline ends it sooner); 0 is
	// [DefaultTimeout].
	Timeout time.Duration
}

// Send delivers m. It connects, upgrades with STARTTLS and authenticates as
// configured, and sends one message to one recipient, within [SMTP.Timeout].
// ctx cancels it at any stage. An error names the stage that failed and, for
// a refusal, the server's status code and enhanced status code (RFC 3463)
// only: servers quote the recipient's address or the message itself (its
// link) in the rest of their reply.
func (s *SMTP) Send(ctx context.Context, m notify.Message) error {
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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

	startTLSName, tlsName := cmp.Or(s.StartTLSSetting, "StartTLS"), cmp.Or(s.TLSSetting, "ImplicitTLS")
	if s.ImplicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS: %w (%s implicit expects TLS from the first byte, as on port 465; for a server that offers STARTTLS, as on port 587, set %s to starttls)",
				ctxErr(ctx, err), tlsName, tlsName)
		}
		conn = tc // net/smtp sees a *tls.Conn: AUTH is allowed on it
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		if !s.ImplicitTLS && s.Port == 465 {
			return fmt.Errorf("greeting: %w (a server on port 465 usually expects TLS from the first byte: set %s to implicit)", ctxErr(ctx, err), tlsName)
		}
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
	if mode != StartTLSOff && !s.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS: %w (%s chooses STARTTLS: required, optional or off; %s implicit speaks TLS from the first byte)",
					ctxErr(ctx, err), startTLSName, tlsName)
			}
		} else if mode == StartTLSRequired {
			return fmt.Errorf("%w, which %s required demands: if the server expects TLS from the first byte (port 465), set %s to implicit; "+
				"to send in clear text to a server without STARTTLS, set %s to optional or off", ErrNoStartTLS, startTLSName, tlsName, startTLSName)
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

// ErrNoStartTLS is the error of a send to a server that does not offer the
// STARTTLS that [StartTLSRequired] requires; the error names the settings
// that change it.
var ErrNoStartTLS = errors.New("the server does not offer STARTTLS")

// tlsConfig is the TLS configuration of STARTTLS and implicit TLS: TLSConfig
// or the system roots, verified for Host.
func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig == nil {
		return &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	cfg := s.TLSConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = s.Host
	}
	return cfg
}

// replyError is a refusal from the SMTP server: its reply code (RFC 5321
// §4.2) and enhanced status code (RFC 3463, "" when it sent none). The text of
// the reply is left out on purpose: servers quote the recipient's address
// (RCPT) or the message itself, invitation link included (DATA), in it.
type replyError struct {
	code     int
	enhanced string
}

func (e replyError) Error() string {
	if e.enhanced == "" {
		return fmt.Sprintf("the server replied %d", e.code)
	}
	return fmt.Sprintf("the server replied %d %s", e.code, e.enhanced)
}

// enhancedCode matches an enhanced status code at the start of a reply's
// text (RFC 3463 §2: class.subject.detail).
var enhancedCode = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// scrub keeps of a server's reply only what [replyError] keeps; a reply that
// could not be parsed (net/textproto quotes it) is reported without its
// text. Other errors (I/O, TLS) are scimd's own and pass as they are.
func scrub(err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return replyError{code: reply.Code, enhanced: enhancedCode.FindString(reply.Msg)}
	}
	var malformed textproto.ProtocolError
	if errors.As(err, &malformed) {
		return errors.New("the server's reply could not be read")
	}
	return err
}

// ctxErr prefers the context's error to the I/O error its cancellation
// caused, and scrubs a server reply of its text (see [scrub]).
func ctxErr(ctx context.Context, err error) error {
	err = scrub(err)
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // the connection's deadline is the context's
	}
	if cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
