package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/scim/notify/mail"
)

func TestInvalidMailConfigurationNamesTheSetting(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"smtp host":        {map[string]string{"SCIM_SMTP_HOST": "smtp example.com", "SCIM_MAIL_FROM": "a@b.example"}, "SCIM_SMTP_HOST"},
		"smtp port text":   {map[string]string{"SCIM_SMTP_PORT": "submission"}, "SCIM_SMTP_PORT"},
		"smtp port range":  {map[string]string{"SCIM_SMTP_PORT": "70000"}, "SCIM_SMTP_PORT"},
		"starttls":         {map[string]string{"SCIM_SMTP_STARTTLS": "maybe"}, "SCIM_SMTP_STARTTLS"},
		"password missing": {map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "a@b.example", "SCIM_SMTP_USERNAME": "u"}, "SCIM_SMTP_PASSWORD"},
		"from missing":     {map[string]string{"SCIM_SMTP_HOST": "smtp.example.com"}, "SCIM_MAIL_FROM"},
		"from invalid":     {map[string]string{"SCIM_MAIL_FROM": "not an address"}, "SCIM_MAIL_FROM"},
		"clear password": {map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "a@b.example",
			"SCIM_SMTP_USERNAME": "u", "SCIM_SMTP_PASSWORD": "smtp-pass-secret", "SCIM_SMTP_STARTTLS": "off"}, "SCIM_SMTP_STARTTLS"},
		"invite ttl text":  {map[string]string{"SCIM_INVITE_TTL": "3 days"}, "SCIM_INVITE_TTL"},
		"invite ttl short": {map[string]string{"SCIM_INVITE_TTL": "10s"}, "SCIM_INVITE_TTL"},
		"invite ttl long":  {map[string]string{"SCIM_INVITE_TTL": "2000h"}, "SCIM_INVITE_TTL"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), nil, func(k string) string { return c.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("run with %v = %v, want an error naming %s", c.env, err, c.want)
			}
			if strings.Contains(err.Error(), "smtp-pass-secret") {
				t.Errorf("error %q quotes the SMTP password", err)
			}
		})
	}
}

func TestMailerChoice(t *testing.T) {
	getenv := func(env map[string]string) func(string) string { return func(k string) string { return env[k] } }
	cfg, err := parseConfig(nil, getenv(map[string]string{"TMPDIR": "/var/tmp"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, where := cfg.mailer()
	if o, ok := m.(*mail.Outbox); !ok || o.Dir != "/var/tmp/scimd-outbox" || o.From != defaultMailFrom {
		t.Errorf("default mailer = %#v, want the outbox in $TMPDIR/scimd-outbox from %q", m, defaultMailFrom)
	}
	if !strings.Contains(where, "/var/tmp/scimd-outbox") {
		t.Errorf("description %q does not name the outbox", where)
	}
	if cfg.InviteTTL.Hours() != 72 {
		t.Errorf("default InviteTTL = %v, want 72h", cfg.InviteTTL)
	}

	cfg, err = parseConfig(nil, getenv(map[string]string{"SCIM_SMTP_HOST": "smtp.example.com", "SCIM_MAIL_FROM": "Acme <no-reply@acme.example>",
		"SCIM_SMTP_USERNAME": "mailer", "SCIM_SMTP_PASSWORD": "smtp-pass-secret", "SCIM_INVITE_TTL": "24h"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m, where = cfg.mailer()
	s, ok := m.(*mail.SMTP)
	if !ok || s.Host != "smtp.example.com" || s.Port != 587 || s.StartTLS != mail.StartTLSRequired || s.Username != "mailer" ||
		s.Password.Reveal() != "smtp-pass-secret" || s.From != "Acme <no-reply@acme.example>" {
		t.Errorf("SMTP mailer = %#v, want smtp.example.com:587, STARTTLS required, the configured credentials", m)
	}
	if strings.Contains(where, "smtp-pass-secret") || !strings.Contains(where, "smtp.example.com:587") {
		t.Errorf("description %q: want the server, never the password", where)
	}
	if cfg.InviteTTL.Hours() != 24 {
		t.Errorf("InviteTTL = %v, want 24h", cfg.InviteTTL)
	}
}

// TestRunInvitationThroughOutbox runs scimd with the development outbox:
// the invitation lands as an .eml file whose link sets the password.
func TestRunInvitationThroughOutbox(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox")
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_MAIL_OUTBOX": outbox}
	base, stdout := start(t, env)
	if !strings.Contains(stdout.String(), "Mail: writing mail to the outbox "+outbox) {
		t.Errorf("start-up output does not name the outbox:\n%s", stdout.String())
	}
	status, body := call(t, "POST", base+"/scim/v2/Users", "test-bootstrap-token-xyz",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"outbox@example.com",
		  "urn:scim:schemas:extension:customer:2.0:User":{"passwordSetup":"invite"}}`)
	if status != 201 {
		t.Fatalf("POST /Users = %d %v", status, body)
	}
	files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the .eml does not parse: %v", err)
	}
	if to := msg.Header.Get("To"); !strings.Contains(to, "outbox@example.com") {
		t.Errorf("To = %q", to)
	}
	// The text part is quoted-printable: undo soft line breaks to find the link.
	text := strings.ReplaceAll(string(raw), "=\r\n", "")
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/t/default/accounts/invite\?token=3D([A-Za-z0-9_-]{43})`).FindStringSubmatch(text)
	if link == nil {
		t.Fatalf("no invitation link under %s in:\n%s", base, text)
	}
	token := link[1]
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/t/default/accounts/invite?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || csrf == nil {
		t.Fatalf("GET invite = %d:\n%s", resp.StatusCode, page)
	}
	resp, err = client.PostForm(base+"/t/default/accounts/invite", url.Values{"csrf": {string(csrf[1])}, "token": {token},
		"password": {"Outbox-Chosen-9"}, "confirm": {"Outbox-Chosen-9"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "all set") {
		t.Fatalf("POST invite = %d:\n%s", resp.StatusCode, page)
	}
	req, _ := http.NewRequest("GET", base+"/t/default/scim/v2/Me", nil)
	req.SetBasicAuth("outbox@example.com", "Outbox-Chosen-9")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /Me with the chosen password = %d, want 200", resp.StatusCode)
	}
}

// TestRunLogsNameTheRequest: a line logged below the HTTP layer (here the
// domain's "invitation email not sent") names the request it belongs to, as
// its access line does.
func TestRunLogsNameTheRequest(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox")
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_MAIL_OUTBOX": outbox}
	base, _, logs := startLogged(t, env)
	// The outbox works at the start (scimd checks it), then no longer: a
	// file where its directory was.
	if err := os.RemoveAll(outbox); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/scim/v2/Users", strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"nomail@example.com","urn:scim:schemas:extension:customer:2.0:User":{"passwordSetup":"invite"}}`))
	req.Header.Set("Authorization", "Bearer test-bootstrap-token-xyz")
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("X-Request-Id", "req-mail-failure-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /Users with the mail down = %d, want 201", resp.StatusCode)
	}
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "invitation email not sent" {
			line = m
		}
	}
	if line == nil || line["request_id"] != "req-mail-failure-1" {
		t.Errorf("the mail failure's log line = %v, want request_id req-mail-failure-1; log:\n%s", line, logs.String())
	}
}
