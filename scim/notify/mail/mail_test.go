package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/scimd/scimd/scim/notify"
	scimdmail "github.com/scimd/scimd/scim/notify/mail"
)

const link = "https://id.example.com/t/acme/accounts/invite?token=AbCdEf0123456789_-AbCdEf0123456789_-AbCdEf0"

func message() notify.Message {
	return notify.Message{
		To:      "jane.doe@example.com",
		Subject: "Set up your account at Ãcme",
		Text:    "Hello Jane,\n\nSet your password here:\n\n" + link + "\n\nThe link works once.\n",
		HTML:    `<p>Hello Jane,</p><p><a href="` + link + `">Set your password</a></p>`,
	}
}

// parsed is a message read back with net/mail and mime/multipart.
type parsed struct {
	header     mail.Header
	text, html string
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v\n%s", err, raw)
	}
	out := parsed{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, _ := io.ReadAll(p) // quoted-printable is decoded by the reader
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			out.text = string(body)
		case strings.HasPrefix(ct, "text/html"):
			out.html = string(body)
		default:
			t.Errorf("unexpected part %q", ct)
		}
	}
	return out
}

// check verifies a delivered message against message().
func check(t *testing.T, raw []byte, wantFrom string) {
	t.Helper()
	p := parse(t, raw)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(p.header.Get("Subject"))
	if err != nil || subject != message().Subject {
		t.Errorf("Subject = %q (%v), want %q", subject, err, message().Subject)
	}
	if from, err := p.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != wantFrom {
		t.Errorf("From = %v (%v), want %s", from, err, wantFrom)
	}
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "jane.doe@example.com" {
		t.Errorf("To = %v (%v), want jane.doe@example.com", to, err)
	}
	if _, err := p.header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if p.header.Get("Message-ID") == "" || p.header.Get("MIME-Version") != "1.0" {
		t.Errorf("Message-ID %q, MIME-Version %q", p.header.Get("Message-ID"), p.header.Get("MIME-Version"))
	}
	if !strings.Contains(p.text, link) {
		t.Errorf("text part lacks the link:\n%s", p.text)
	}
	if !strings.Contains(p.html, `href="`+link+`"`) {
		t.Errorf("HTML part lacks the link:\n%s", p.html)
	}
	if bytes.Contains(raw, []byte("\n")) && !bytes.Contains(raw, []byte("\r\n")) {
		t.Errorf("message lines do not end in CRLF")
	}
}

func TestOutboxWritesParseableEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := &scimdmail.Outbox{Dir: dir, From: "Acme Accounts <no-reply@acme.example>"}
	if err := o.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := o.Send(context.Background(), message()); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 2 {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("outbox has %d .eml files (%v), want 2", len(files), entries)
	}
	if all, _ := os.ReadDir(dir); len(all) != 2 {
		t.Errorf("outbox has %d entries, want only the 2 messages", len(all))
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600: it holds a link", f, st.Mode().Perm())
		}
		raw, _ := os.ReadFile(f)
		check(t, raw, "no-reply@acme.example")
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("outbox directory mode %v, want 0700", st.Mode().Perm())
	}
}

func TestComposeRefusesHeaderInjection(t *testing.T) {
	o := &scimdmail.Outbox{Dir: t.TempDir(), From: "no-reply@acme.example"}
	m := message()
	m.To = "jane@example.com\r\nBcc: eve@example.com"
	if err := o.Send(context.Background(), m); err == nil {
		t.Errorf("Send to %q succeeded, want an error", m.To)
	}
	m = message()
	m.Subject = "Hi\r\nBcc: eve@example.com"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(o.Dir, "*.eml"))
	raw, _ := os.ReadFile(files[0])
	msg, _ := mail.ReadMessage(bytes.NewReader(raw))
	if msg.Header.Get("Bcc") != "" {
		t.Errorf("a subject with a line break injected a Bcc header")
	}
}

// smtpServer is an in-process SMTP server (github.com/emersion/go-smtp) that
// records what it receives.
type smtpServer struct {
	addr     string
	user, pw string
	// reject, when set, may refuse a recipient (stage "RCPT", what the
	// client sent) or a message (stage "DATA", the message as received).
	reject func(stage string, got []byte) error

	mu       sync.Mutex
	received []delivery
}

type delivery struct {
	from, to string
	authed   bool
	tls      bool
	data     []byte
}

type session struct {
	s    *smtpServer
	conn *smtp.Conn
	d    delivery
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pw string) error {
		if user != s.s.user || pw != s.s.pw {
			return errors.New("invalid credentials")
		}
		s.d.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.s.user != "" && !s.d.authed {
		return smtp.ErrAuthRequired
	}
	s.d.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.s.reject != nil {
		if err := s.s.reject("RCPT", []byte(to)); err != nil {
			return err
		}
	}
	s.d.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.s.reject != nil {
		if err := s.s.reject("DATA", data); err != nil {
			return err
		}
	}
	s.d.data = data
	_, s.d.tls = s.conn.TLSConnectionState()
	s.s.mu.Lock()
	s.s.received = append(s.s.received, s.d)
	s.s.mu.Unlock()
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// startSMTP starts the server on a loopback port; with tlsCert it offers
// STARTTLS. It stops when the test ends.
func startSMTP(t *testing.T, cert *tls.Certificate, user, pw string) *smtpServer {
	t.Helper()
	return startSMTPServer(t, cert, user, pw, false)
}

// startSMTPServer is startSMTP; implicit makes it speak TLS from the first
// byte (as on port 465) instead of offering STARTTLS.
func startSMTPServer(t *testing.T, cert *tls.Certificate, user, pw string, implicit bool) *smtpServer {
	t.Helper()
	srv := &smtpServer{user: user, pw: pw}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: srv, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	} else {
		s.AllowInsecureAuth = true
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = ln.Addr().String()
	if implicit {
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return srv
}

func (s *smtpServer) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.received...)
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "scimd test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, _ := net.SplitHostPort(addr)
	tcp, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(h, p))
	if err != nil {
		t.Fatal(err)
	}
	return h, tcp.Port
}

func TestSMTPStartTLSAndAuthPlain(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startSMTP(t, &cert, "mailer", "smtp-secret-password")
	host, port := hostPort(t, srv.addr)
	m := &scimdmail.SMTP{Host: host, Port: port, StartTLS: scimdmail.StartTLSRequired,
		Username: "mailer", Password: "smtp-secret-password", From: "Acme <no-reply@acme.example>",
		TLSConfig: &tls.Config{RootCAs: pool}}
	if err := m.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.deliveries()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	d := got[0]
	if !d.tls || !d.authed {
		t.Errorf("delivery tls=%v authed=%v, want both", d.tls, d.authed)
	}
	if d.from != "no-reply@acme.example" || d.to != "jane.doe@example.com" {
		t.Errorf("envelope from %q to %q", d.from, d.to)
	}
	check(t, d.data, "no-reply@acme.example")
}

func TestSMTPFailures(t *testing.T) {
	cert, pool := selfSigned(t)
	withTLS := startSMTP(t, &cert, "mailer", "smtp-secret-password")
	plain := startSMTP(t, nil, "", "")
	cases := []struct {
		name string
		srv  *smtpServer
		m    scimdmail.SMTP
		want string
	}{
		{"starttls required, not offered", plain, scimdmail.SMTP{StartTLS: scimdmail.StartTLSRequired}, "STARTTLS"},
		{"wrong password", withTLS, scimdmail.SMTP{Username: "mailer", Password: "wrong-password-123", TLSConfig: &tls.Config{RootCAs: pool}}, "AUTH"},
		{"untrusted certificate", withTLS, scimdmail.SMTP{}, "STARTTLS"},
		{"bad from", plain, scimdmail.SMTP{StartTLS: scimdmail.StartTLSOff, From: "not an address"}, "from address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.m
			m.Host, m.Port = hostPort(t, c.srv.addr)
			if m.From == "" {
				m.From = "no-reply@acme.example"
			}
			err := m.Send(context.Background(), message())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Send = %v, want an error mentioning %q", err, c.want)
			}
			for _, secret := range []string{"wrong-password-123", "smtp-secret-password", link} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
	t.Run("off sends in clear text", func(t *testing.T) {
		host, port := hostPort(t, plain.addr)
		m := &scimdmail.SMTP{Host: host, Port: port, StartTLS: scimdmail.StartTLSOff, From: "no-reply@acme.example"}
		if err := m.Send(context.Background(), message()); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if n := len(plain.deliveries()); n != 1 {
			t.Errorf("server received %d messages, want 1", n)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
		defer ln.Close()
		host, port := hostPort(t, ln.Addr().String())
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		m := &scimdmail.SMTP{Host: host, Port: port, From: "no-reply@acme.example"}
		if err := m.Send(ctx, message()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send to a silent server = %v, want the context's deadline", err)
		}
	})
}

// TestSMTPRefusalKeepsOnlyCodes: a server that quotes what it refuses (the
// recipient's address, the message with its link, quoted-printable) gets only
// its reply code and enhanced status code into the error, which is logged.
func TestSMTPRefusalKeepsOnlyCodes(t *testing.T) {
	cases := []struct {
		stage, want string
		reply       func(got []byte) error
	}{
		{"DATA", "DATA: the server replied 554 5.6.0", func(got []byte) error {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
				Message: "Message refused by content filter: " + strings.Join(strings.Fields(string(got)), " ")}
		}},
		{"RCPT", "RCPT TO: the server replied 550 5.1.1", func(got []byte) error {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
				Message: "<" + string(got) + ">: Recipient address rejected: User unknown in virtual mailbox table"}
		}},
		{"DATA", "DATA: the server replied 451", func(got []byte) error {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.NoEnhancedCode, Message: "try later " + string(got[:200])}
		}},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			srv := startSMTP(t, nil, "", "")
			srv.reject = func(stage string, got []byte) error {
				if stage != c.stage {
					return nil
				}
				return c.reply(got)
			}
			host, port := hostPort(t, srv.addr)
			m := &scimdmail.SMTP{Host: host, Port: port, StartTLS: scimdmail.StartTLSOff, From: "no-reply@acme.example"}
			err := m.Send(context.Background(), message())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Send = %v, want an error with %q", err, c.want)
			}
			for _, secret := range []string{"token", "=3D", "AbCdEf0123", "jane.doe", "example.com", "refused by", "Recipient", "try later"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes the server's reply (%q)", err, secret)
				}
			}
		})
	}
}

// TestSMTPTimeoutBoundsSend: Timeout bounds a Send even when the caller's
// context allows longer: a stalled server must not hold a request for long.
func TestSMTPTimeoutBoundsSend(t *testing.T) {
	if scimdmail.DefaultTimeout > 10*time.Second {
		t.Errorf("DefaultTimeout = %v, want at most 10s", scimdmail.DefaultTimeout)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
	defer ln.Close()
	host, port := hostPort(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := &scimdmail.SMTP{Host: host, Port: port, From: "no-reply@acme.example", Timeout: 300 * time.Millisecond}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, message()) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send to a silent server = %v, want a deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v, want about its Timeout (300ms)", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Send to a silent server still running after 10s with Timeout 300ms")
	}
}

// TestSMTPImplicitTLS: with ImplicitTLS the connection is TLS from the
// first byte (RFC 8314 §3.3, port 465), AUTH PLAIN goes over it, and the
// mismatches of the two TLS modes fail with an error naming the setting
// that fixes them.
func TestSMTPImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	implicit := startSMTPServer(t, &cert, "mailer", "smtp-secret-password", true)
	startTLS := startSMTP(t, &cert, "", "")
	plain := startSMTP(t, nil, "", "")
	smtpTo := func(srv *smtpServer, m scimdmail.SMTP) *scimdmail.SMTP {
		m.Host, m.Port = hostPort(t, srv.addr)
		m.From, m.TLSConfig = "no-reply@acme.example", &tls.Config{RootCAs: pool}
		m.StartTLSSetting, m.TLSSetting = "SCIM_SMTP_STARTTLS", "SCIM_SMTP_TLS"
		return &m
	}
	// untrusted verifies with the system roots, which do not trust the
	// test's certificate.
	untrusted := func(m *scimdmail.SMTP) *scimdmail.SMTP { m.TLSConfig = nil; return m }

	m := smtpTo(implicit, scimdmail.SMTP{ImplicitTLS: true, Username: "mailer", Password: "smtp-secret-password"})
	if err := m.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send with implicit TLS: %v", err)
	}
	got := implicit.deliveries()
	if len(got) != 1 || !got[0].tls || !got[0].authed {
		t.Fatalf("deliveries = %+v, want one, over TLS, authenticated", got)
	}
	check(t, got[0].data, "no-reply@acme.example")

	for _, c := range []struct {
		name string
		m    *scimdmail.SMTP
		want []string
	}{
		{"implicit to a STARTTLS server", smtpTo(startTLS, scimdmail.SMTP{ImplicitTLS: true}),
			[]string{"TLS: ", "SCIM_SMTP_TLS implicit expects TLS from the first byte", "set SCIM_SMTP_TLS to starttls"}},
		{"STARTTLS required, not offered", smtpTo(plain, scimdmail.SMTP{}),
			[]string{"does not offer STARTTLS, which SCIM_SMTP_STARTTLS required demands", "set SCIM_SMTP_TLS to implicit", "set SCIM_SMTP_STARTTLS to optional or off"}},
		{"STARTTLS with an untrusted certificate", untrusted(smtpTo(startTLS, scimdmail.SMTP{})),
			[]string{"STARTTLS: ", "SCIM_SMTP_STARTTLS chooses STARTTLS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.Send(context.Background(), message())
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Send = %v, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), link) {
				t.Errorf("error %q reveals the link", err)
			}
		})
	}
	if !errors.Is(smtpTo(plain, scimdmail.SMTP{}).Send(context.Background(), message()), scimdmail.ErrNoStartTLS) {
		t.Error("a required STARTTLS not offered is not ErrNoStartTLS")
	}
}
