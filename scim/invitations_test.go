package scim_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/resources/mail/mailtest"
	"github.com/scimd/scimd/scim"
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
func onboardingAPI(t *testing.T, redisURL string) (*api, *resources.Users, *mailtest.Mailbox, *syncBuffer) {
	t.Helper()
	a := newAPI(t, redisURL)
	mails, logs := &mailtest.Mailbox{}, &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	users := resources.NewUsers(a.store).WithOnboarding(resources.Onboarding{
		Store: a.store, Mailer: mails, BaseURL: a.srv.URL, Log: log})
	handler := scim.NewHandler(scim.Config{BaseURL: a.srv.URL + scim.BasePath}, users, resources.NewGroups(a.store), a.store, log)
	a.srv.Config.Handler = scim.Observe(log, nil, handler)
	return a, users, mails, logs
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func invitee(userName string) map[string]any {
	return user(userName, map[string]any{customerURN: map[string]any{"passwordSetup": "invite"}})
}

func TestInvitationResend(t *testing.T) {
	for _, variant := range []string{"embedded", "redis"} {
		t.Run(variant, func(t *testing.T) {
			url := ""
			if variant == "redis" {
				url = redistest.Start(t)
			}
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

			// Accepting activates; then a resend is 409 and the token is burnt.
			res, err := users.AcceptInvitation(ctx, "acme", resources.Secret(second), "Ivy-Chosen-Pass-1")
			if err != nil {
				t.Fatalf("AcceptInvitation: %v", err)
			}
			if got := str(map[string]any(res.Attributes), customerURN, "accountState"); got != "active" {
				t.Errorf("accountState after accepting = %q", got)
			}
			a.me("GET", mePath, basic("ivy@example.com", "Ivy-Chosen-Pass-1"), nil).must(t, http.StatusOK)
			a.do("POST", "/Users/"+id+"/resendInvitation", ownerToken, nil).scimError(t, http.StatusConflict, "", "not waiting for an invitation")
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
}

func TestInvitationWithoutOnboardingIsNotSent(t *testing.T) {
	a := newAPI(t, "")
	r := a.do("POST", "/Users", ownerToken, invitee("plain@example.com")).must(t, http.StatusCreated)
	if got := str(r.body, customerURN, "accountState"); got != "pendingInvitation" {
		t.Errorf("accountState = %q, want pendingInvitation", got)
	}
}
