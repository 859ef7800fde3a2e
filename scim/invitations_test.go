package scim_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/internal/logtest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/scim/notify"
	scimdmail "github.com/scimd/scimd/scim/notify/mail"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

// lastToken returns the invitation token of mb's newest message.
func lastToken(tb testing.TB, mb *mailtest.Mailbox) string {
	tb.Helper()
	text := mb.Last(tb).Text
	m := regexp.MustCompile(`/t/acme/accounts/invite\?token=([A-Za-z0-9_-]{43})`).FindStringSubmatch(text)
	if m == nil {
		tb.Fatalf("no invitation link in %q", text)
	}
	return m[1]
}

// onboardingAPI is newAPI with invitations: mail goes to the returned
// mailbox, logs to the returned buffer.
func onboardingAPI(t *testing.T, redisURL string) (*api, *resources.Users, *mailtest.Mailbox, *logtest.Buffer) {
	t.Helper()
	mails := &mailtest.Mailbox{}
	a, users, logs := onboardingAPIWith(t, redisURL, mails)
	return a, users, mails, logs
}

// onboardingAPIWith is onboardingAPI sending mail through mailer.
func onboardingAPIWith(t *testing.T, redisURL string, mailer notify.Mailer) (*api, *resources.Users, *logtest.Buffer) {
	t.Helper()
	a := newAPI(t, redisURL)
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	users := resources.NewUsers(a.store).WithOnboarding(resources.Onboarding{
		Store: a.store, Notifier: notify.New(a.srv.URL, mailer), Log: log})
	handler := scim.NewHandler(scim.Config{BaseURL: a.srv.URL + scim.BasePath}, users, resources.NewGroups(a.store), a.store, log)
	a.srv.Config.Handler = scim.Observe(log, nil, handler)
	return a, users, logs
}

func invitee(userName string) map[string]any {
	return user(userName, map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})
}

func TestInvitationResend(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		a, users, mails, logs := onboardingAPI(t, url)
		ctx := context.Background()

		r := a.do("POST", "/Users", ownerToken, invitee("ivy@example.com")).must(t, http.StatusCreated)
		id := str(r.body, "id")
		if got := str(r.body, customerURN, "accountState"); got != "pendingInvitation" {
			t.Errorf("accountState after create = %q, want pendingInvitation", got)
		}
		first := lastToken(t, mails)
		m := mails.Messages()[0]
		if m.To != "ivy@example.com" || !strings.Contains(m.Subject, "acme") || !strings.Contains(m.HTML, first) {
			t.Errorf("invitation = to %q, subject %q; want to the customer, naming the organization, with the link in HTML", m.To, m.Subject)
		}

		// Readers may not resend; unknown users are 404.
		a.do("POST", "/Users/"+id+"/resendInvitation", readerToken, nil).must(t, http.StatusForbidden)
		a.do("POST", "/Users/nobody/resendInvitation", ownerToken, nil).must(t, http.StatusNotFound)
		a.do("GET", "/Users/"+id+"/resendInvitation", ownerToken, nil).must(t, http.StatusMethodNotAllowed)
		a.do("POST", "/Users/"+id+"/resendInvitation", otherToken, nil).must(t, http.StatusNotFound)

		// A resend revokes the first link.
		r = a.do("POST", "/Users/"+id+"/resendInvitation", collabToken, nil).must(t, http.StatusOK)
		if got := str(r.body, customerURN, "accountState"); got != "pendingInvitation" || r.header.Get("ETag") == "" {
			t.Errorf("resend = accountState %q, ETag %q", got, r.header.Get("ETag"))
		}
		second := lastToken(t, mails)
		if second == first {
			t.Fatalf("resend sent the same token")
		}
		if _, err := users.AcceptInvitation(ctx, "acme", resources.Secret(first), "Ivy-Chosen-Pass-1"); !errors.Is(err, resources.ErrInvalidInvitation) {
			t.Fatalf("AcceptInvitation with the revoked token = %v, want ErrInvalidInvitation", err)
		}

		// Mail failure: still created, invitationNotDelivered, logged without the token.
		mails.SetFail(true)
		r = a.do("POST", "/Users", ownerToken, invitee("undelivered@example.com")).must(t, http.StatusCreated)
		uid := str(r.body, "id")
		if got := str(r.body, customerURN, "accountState"); got != "invitationNotDelivered" {
			t.Errorf("accountState after a failed send = %q, want invitationNotDelivered", got)
		}
		a.do("GET", "/Users/"+uid, ownerToken, nil).must(t, http.StatusOK)
		a.do("POST", "/Users/"+uid+"/resendInvitation", ownerToken, nil).scimError(t, http.StatusServiceUnavailable, "", "could not be sent")
		if !strings.Contains(logs.String(), "invitation email not sent") {
			t.Errorf("the failure was not logged: %s", logs.String())
		}
		mails.SetFail(false)
		r = a.do("POST", "/Users/"+uid+"/resendInvitation", ownerToken, nil).must(t, http.StatusOK)
		if got := str(r.body, customerURN, "accountState"); got != "pendingInvitation" {
			t.Errorf("accountState after a successful resend = %q, want pendingInvitation", got)
		}

		// Accepting activates, and the token is burnt.
		res, err := users.AcceptInvitation(ctx, "acme", resources.Secret(second), "Ivy-Chosen-Pass-1")
		if err != nil {
			t.Fatalf("AcceptInvitation: %v", err)
		}
		if got := str(map[string]any(res.Attributes), customerURN, "accountState"); got != "active" {
			t.Errorf("accountState after accepting = %q", got)
		}
		a.me("GET", mePath, basic("ivy@example.com", "Ivy-Chosen-Pass-1"), nil).must(t, http.StatusOK)
		if _, err := users.AcceptInvitation(ctx, "acme", resources.Secret(second), "Another-Pass-22"); !errors.Is(err, resources.ErrInvalidInvitation) {
			t.Errorf("AcceptInvitation twice = %v, want ErrInvalidInvitation", err)
		}
		for _, tok := range []string{first, second} {
			if strings.Contains(logs.String(), tok) {
				t.Errorf("the log holds an invitation token")
			}
		}
		if n := len(mails.Messages()); n != 3 {
			t.Errorf("%d messages sent, want 3", n)
		}
	})
}

// TestInvitationWithoutOnboardingIsNotSent: a handler without onboarding
// (no mailer) sends no invitation, and the account says so: it is created
// invitationNotDelivered, which only a sent invitation changes.
func TestInvitationWithoutOnboardingIsNotSent(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/Users", ownerToken, invitee("plain@example.com")).must(t, http.StatusCreated)
		if got := str(r.body, customerURN, "accountState"); got != "invitationNotDelivered" {
			t.Errorf("accountState = %q, want invitationNotDelivered", got)
		}
	})
}

// refusingSMTP is an SMTP server (github.com/emersion/go-smtp) that refuses
// every message at DATA, or every recipient at RCPT, quoting what it refuses
// as real servers do; it stops when the test ends.
func refusingSMTP(t *testing.T, stage string) *scimdmail.SMTP {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return refusingSession{stage}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &scimdmail.SMTP{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, StartTLS: scimdmail.StartTLSOff,
		From: "no-reply@acme.example", Timeout: 5 * time.Second}
}

type refusingSession struct{ stage string }

func (s refusingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s refusingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.stage != "RCPT" {
		return nil
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected"}
}
func (s refusingSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Message refused by content filter: " + strings.Join(strings.Fields(string(body)), " ")}
}
func (refusingSession) Reset()        {}
func (refusingSession) Logout() error { return nil }

// TestInvitationRefusedByMailServerLogsNoLink: when the mail server refuses
// the invitation quoting it (the link, quoted-printable: token=3D...) or the
// recipient, the customer is created invitationNotDelivered and the log
// line has the server's codes, never the link or the address.
func TestInvitationRefusedByMailServerLogsNoLink(t *testing.T) {
	for _, c := range []struct{ stage, codes string }{{"DATA", "554 5.6.0"}, {"RCPT", "550 5.1.1"}} {
		t.Run(c.stage, func(t *testing.T) {
			redistest.EachStore(t, func(t *testing.T, url string) {
				a, _, logs := onboardingAPIWith(t, url, refusingSMTP(t, c.stage))
				r := a.do("POST", "/Users", ownerToken, invitee("quoted.customer@example.com")).must(t, http.StatusCreated)
				if got := str(r.body, customerURN, "accountState"); got != "invitationNotDelivered" {
					t.Errorf("accountState = %q, want invitationNotDelivered", got)
				}
				a.do("POST", "/Users/"+str(r.body, "id")+"/resendInvitation", ownerToken, nil).
					scimError(t, http.StatusServiceUnavailable, "", "could not be sent")
				out := logs.String()
				if !strings.Contains(out, "invitation email not sent") || !strings.Contains(out, c.codes) {
					t.Errorf("the log lacks the failure with the server's codes %q:\n%s", c.codes, out)
				}
				for _, leak := range []string{"token=", "=3D", "/accounts/invite", "quoted.customer", "refused by", "Recipient address"} {
					if strings.Contains(out, leak) {
						t.Errorf("the log holds %q (the link, the address or the server's text):\n%s", leak, out)
					}
				}
			})
		})
	}
}

// TestInvitationStalledMailServer: a mail server that accepts connections
// and never answers costs POST /Users the mailer's timeout, no more; the
// customer is created invitationNotDelivered.
func TestInvitationStalledMailServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	mailer := &scimdmail.SMTP{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: "no-reply@acme.example", Timeout: 500 * time.Millisecond}
	redistest.EachStore(t, func(t *testing.T, url string) {
		a, _, logs := onboardingAPIWith(t, url, mailer)
		start := time.Now()
		r := a.do("POST", "/Users", ownerToken, invitee("stalled@example.com")).must(t, http.StatusCreated)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("POST /Users took %v with a stalled mail server, want about the mailer's timeout", d)
		}
		if got := str(r.body, customerURN, "accountState"); got != "invitationNotDelivered" {
			t.Errorf("accountState = %q, want invitationNotDelivered", got)
		}
		if out := logs.String(); !strings.Contains(out, "invitation email not sent") || !strings.Contains(out, "deadline exceeded") {
			t.Errorf("the failure is not logged as a timeout:\n%s", out)
		}
	})
}

// TestResendIsPasswordReset: an invited customer who accepted and forgot
// their password (an administrator may not set one: passwordSetup invite)
// gets a reset link from resendInvitation. The account and its password stay
// as they are until the link is used; then only the new password works.
func TestResendIsPasswordReset(t *testing.T) {
	redistest.EachStore(t, func(t *testing.T, url string) {
		a, users, mails, logs := onboardingAPI(t, url)
		ctx := context.Background()
		const old, fresh = "Forgotten-Pass-2024", "Remembered-Pass-2025"
		r := a.do("POST", "/Users", ownerToken, invitee("forgetful@example.com")).must(t, http.StatusCreated)
		id := str(r.body, "id")
		if _, err := users.AcceptInvitation(ctx, "acme", resources.Secret(lastToken(t, mails)), old); err != nil {
			t.Fatalf("AcceptInvitation: %v", err)
		}
		// What was refused before: a password from the administrator.
		a.do("PATCH", "/Users/"+id, ownerToken, patch(op("replace", "password", fresh))).
			scimError(t, http.StatusBadRequest, "invalidValue", "must not be sent with passwordSetup")

		r = a.do("POST", "/Users/"+id+"/resendInvitation", collabToken, nil).must(t, http.StatusOK)
		if got := str(r.body, customerURN, "accountState"); got != "active" {
			t.Errorf("accountState after a reset link = %q, want active (unchanged)", got)
		}
		m := mails.Last(t)
		if m.To != "forgetful@example.com" || !strings.Contains(m.Subject, "new password") || !strings.Contains(m.Text, "keeps working") {
			t.Errorf("reset email = to %q, %q:\n%s", m.To, m.Subject, m.Text)
		}
		reset := lastToken(t, mails)
		a.me("GET", mePath, basic("forgetful@example.com", old), nil).must(t, http.StatusOK)

		// A second reset revokes the first link.
		a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).must(t, http.StatusOK)
		if _, err := users.AcceptInvitation(ctx, "acme", resources.Secret(reset), fresh); !errors.Is(err, resources.ErrInvalidInvitation) {
			t.Fatalf("AcceptInvitation with a revoked reset link = %v, want ErrInvalidInvitation", err)
		}
		reset = lastToken(t, mails)
		if _, err := users.AcceptInvitation(ctx, "acme", resources.Secret(reset), fresh); err != nil {
			t.Fatalf("AcceptInvitation with the reset link: %v", err)
		}
		a.me("GET", mePath, basic("forgetful@example.com", fresh), nil).must(t, http.StatusOK)
		a.me("GET", mePath, basic("forgetful@example.com", old), nil).must(t, http.StatusUnauthorized)

		// The mail server down: 503, and the account still works as it did.
		mails.SetFail(true)
		a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).scimError(t, http.StatusServiceUnavailable, "", "unchanged")
		if got := str(a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK).body, customerURN, "accountState"); got != "active" {
			t.Errorf("accountState after an undelivered reset = %q, want active", got)
		}
		a.me("GET", mePath, basic("forgetful@example.com", fresh), nil).must(t, http.StatusOK)
		if !strings.Contains(logs.String(), "password reset email not sent") || strings.Contains(logs.String(), reset) {
			t.Errorf("the failure is not logged, or the log holds a token:\n%s", logs.String())
		}
	})
}

// TestResendToAccountWithoutPassword: identity providers (Entra ID, Okta)
// create customers without passwordSetup and without a password: active, and
// no way to sign in. resendInvitation invites them.
func TestResendToAccountWithoutPassword(t *testing.T) {
	onboardingStores(t, func(t *testing.T, a *api, users *resources.Users, mails mailbox) {
		r := a.do("POST", "/Users", ownerToken, user("from.entra@example.com", nil)).must(t, http.StatusCreated)
		id := str(r.body, "id")
		if n := len(mails.Messages()); n != 0 {
			t.Fatalf("creating a customer without passwordSetup sent %d messages", n)
		}
		r = a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).must(t, http.StatusOK)
		if got := str(r.body, customerURN, "accountState"); got != "pendingInvitation" {
			t.Errorf("accountState after resendInvitation = %q, want pendingInvitation", got)
		}
		if m := mails.Last(t); !strings.Contains(m.Subject, "Set up your") {
			t.Errorf("email subject %q, want an invitation", m.Subject)
		}
		if _, err := users.AcceptInvitation(context.Background(), "acme", resources.Secret(lastToken(t, mails)), "Entra-Customer-Pass-1"); err != nil {
			t.Fatalf("AcceptInvitation: %v", err)
		}
		a.me("GET", mePath, basic("from.entra@example.com", "Entra-Customer-Pass-1"), nil).must(t, http.StatusOK)
		r = a.do("GET", "/Users/"+id, ownerToken, nil).must(t, http.StatusOK)
		if got := str(r.body, customerURN, "accountState"); got != "active" {
			t.Errorf("accountState after accepting = %q, want active", got)
		}
	})
}
