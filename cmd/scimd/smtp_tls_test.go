package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim/notify/mail"
)

// TestSMTPTLSSetting: SCIM_SMTP_TLS implicit makes the mailer speak TLS from
// the first byte, and the errors it can fix name it; STARTTLS modes do not
// apply with it.
func TestSMTPTLSSetting(t *testing.T) {
	smtpEnv := map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_SMTP_PORT": "465", "SCIM_MAIL_FROM": "a@b.example",
		"SCIM_SMTP_TLS": "Implicit"}
	cfg, err := parseConfig(nil, func(k string) string { return smtpEnv[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, where := cfg.mailer()
	s, ok := m.(*mail.SMTP)
	if !ok || !s.ImplicitTLS || s.Port != 465 || !strings.HasPrefix(s.TLSSetting, "SCIM_SMTP_TLS") || !strings.HasPrefix(s.StartTLSSetting, "SCIM_SMTP_STARTTLS") {
		t.Errorf("mailer = %#v, want implicit TLS on 465, naming the settings", m)
	}
	if !strings.Contains(where, "implicit TLS") {
		t.Errorf("description %q does not say implicit TLS", where)
	}
	smtpEnv["SCIM_SMTP_STARTTLS"] = "off"
	err = run(context.Background(), nil, func(k string) string { return smtpEnv[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SCIM_SMTP_STARTTLS") || !strings.Contains(err.Error(), "does not apply") {
		t.Errorf("run with SCIM_SMTP_TLS implicit and SCIM_SMTP_STARTTLS off = %v, want an error naming SCIM_SMTP_STARTTLS", err)
	}
}

// noStartTLSServer is an SMTP server on a loopback port that greets and
// answers EHLO without offering STARTTLS, then waits for the client to go.
func noStartTLSServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				_, _ = io.WriteString(c, "220 localhost ESMTP\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"):
						_, _ = io.WriteString(c, "250-localhost\r\n250 8BITMIME\r\n")
					case cmd == "QUIT":
						_, _ = io.WriteString(c, "221 bye\r\n")
						return
					default:
						_, _ = io.WriteString(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunSMTPWarningsAndStartTLSError: with SMTP configured and no
// SCIM_BASE_URL, scimd warns at start that links point at localhost; a
// server that offers no STARTTLS fails the invitation with a logged error
// that names the settings to change.
func TestRunSMTPWarningsAndStartTLSError(t *testing.T) {
	port := noStartTLSServer(t)
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_SMTP_HOST": "127.0.0.1",
		"SCIM_SMTP_PORT": strconv.Itoa(port), "SCIM_MAIL_FROM": "Acme <no-reply@acme.example>"}
	base, stdout, logs := startLogged(t, env)
	if out := stdout.String(); !strings.Contains(out, "Warning: SCIM_SMTP_HOST") || !strings.Contains(out, "SCIM_BASE_URL") {
		t.Errorf("start-up output lacks the SCIM_BASE_URL warning:\n%s", out)
	}
	status, body := call(t, "POST", base+"/scim/v2/Users", "test-bootstrap-token-xyz",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"tls@example.com",
		  "urn:scim:schemas:extension:customer:2.0:User":{"passwordSetup":"invite"}}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	var logged string
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "invitation email not sent" {
			logged, _ = m["err"].(string)
		}
	}
	for _, want := range []string{"does not offer STARTTLS", "SCIM_SMTP_STARTTLS (-smtp-starttls) required demands",
		"set SCIM_SMTP_TLS (-smtp-tls) to implicit", "set SCIM_SMTP_STARTTLS (-smtp-starttls) to optional or off"} {
		if !strings.Contains(logged, want) {
			t.Errorf("logged error %q lacks %q", logged, want)
		}
	}
}

// TestRunNoSMTPWarningWithBaseURL: with SCIM_BASE_URL set (and the port not
// 465), SMTP starts without warnings; port 465 without implicit TLS warns.
func TestRunNoSMTPWarningWithBaseURL(t *testing.T) {
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_SMTP_HOST": "127.0.0.1",
		"SCIM_MAIL_FROM": "a@b.example", "SCIM_BASE_URL": "https://id.example.com"}
	_, stdout := start(t, env)
	if strings.Contains(stdout.String(), "Warning:") {
		t.Errorf("start-up output warns:\n%s", stdout.String())
	}
	env["SCIM_SMTP_PORT"] = "465"
	_, stdout = start(t, env)
	if out := stdout.String(); !strings.Contains(out, "Warning: SCIM_SMTP_PORT (-smtp-port) is 465") || strings.Contains(out, "SCIM_BASE_URL") {
		t.Errorf("start-up output with port 465 = \n%s\nwant only the implicit TLS warning", out)
	}
}
