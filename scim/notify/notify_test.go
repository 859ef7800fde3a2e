package notify_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim/notify"
	"github.com/scimd/scimd/scim/notify/mailtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the mails as rendered now")

const token = "AbCdEf0123456789_-AbCdEf0123456789_-AbCdEf0"

// expires is 13:30 UTC, in another zone: mails state times in UTC.
var expires = time.Date(2026, 12, 9, 14, 30, 0, 0, time.FixedZone("X", 3600))

// TestMessagesGolden renders every notice (every standing of an
// AlreadyRegistered account, names and addresses HTML must escape) and
// compares the whole mail, subject and both bodies, with testdata.
func TestMessagesGolden(t *testing.T) {
	n := notify.New("https://id.example.com/", &mailtest.Mailbox{})
	already := func(a resources.RegisteredAccount) resources.AlreadyRegistered {
		return resources.AlreadyRegistered{Org: "acme", Email: "jane+x@example.com", Account: a}
	}
	cases := []struct {
		golden string
		notice resources.Notice
	}{
		{"invitation", resources.Invitation{Org: "acme", Email: "jane+x@example.com", Name: "Jane", Token: token, Expires: expires}},
		{"invitation-display-name", resources.Invitation{Org: "acme.eu", Email: "zoe@example.com", Name: `Zoë <b>&"'+`, Token: token, Expires: expires}},
		{"invitation-no-name", resources.Invitation{Org: "acme", Email: "nobody@example.com", Token: token, Expires: expires}},
		{"password-reset", resources.PasswordReset{Org: "acme", Email: "jane+x@example.com", Token: token, Expires: expires}},
		{"registration-confirmation", resources.RegistrationConfirmation{Org: "acme_1", Email: "dave+r@example.com", Token: token, Expires: expires}},
		{"already-registered-invited", already(resources.AccountInvited)},
		{"already-registered-temporary-password", already(resources.AccountTemporaryPassword)},
		{"already-registered-active", already(resources.AccountWithPassword)},
		{"already-registered-no-password", already(resources.AccountWithoutPassword)},
		{"admin-invitation", resources.AdminInvitation{Org: "acme", OrgName: "Acme Inc.", Email: "ops+1@example.com", Role: resources.RoleCollaborator, Token: token, Expires: expires}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			m, err := n.Message(c.notice)
			if err != nil {
				t.Fatalf("Message(%T): %v", c.notice, err)
			}
			got := fmt.Sprintf("To: %s\nSubject: %s\n--- text\n%s--- html\n%s", m.To, m.Subject, m.Text, m.HTML)
			path := filepath.Join("testdata", c.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("Message(%T) differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", c.notice, path, got, want)
			}
		})
	}
}

// TestNotifySends: Notify hands the rendered message to the mailer and
// returns its error, which names no token.
func TestNotifySends(t *testing.T) {
	var mb mailtest.Mailbox
	n := notify.New("https://id.example.com", &mb)
	notice := resources.PasswordReset{Org: "acme", Email: "jane@example.com", Token: token, Expires: expires}
	if err := n.Notify(context.Background(), notice); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	want := "https://id.example.com/t/acme/accounts/invite?token=" + token
	if got := mb.Last(t); got.To != "jane@example.com" || !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, `href="`+want+`"`) {
		t.Errorf("sent %+v, want a mail to jane@example.com linking to %s", got, want)
	}
	mb.SetFail(true)
	err := n.Notify(context.Background(), notice)
	if !errors.Is(err, mailtest.ErrUnreachable) || strings.Contains(err.Error(), token) {
		t.Errorf("Notify through a failing mailer = %v, want %v without the token", err, mailtest.ErrUnreachable)
	}
}

// TestLinks: the links are the pages' route patterns in the organization,
// below the public URL.
func TestLinks(t *testing.T) {
	l := notify.NewLinks("https://id.example.com/")
	for _, c := range []struct{ got, want string }{
		{l.Page(notify.SignIn, "acme"), "https://id.example.com/t/acme/accounts/login"},
		{l.Page(notify.Register, "acme.eu"), "https://id.example.com/t/acme.eu/accounts/register"},
		{l.WithToken(notify.AdminSignIn, "acme", token).Reveal(), "https://id.example.com/t/acme/console/signin-link?token=" + token},
		{l.WithToken(notify.Confirm, "acme", token).Reveal(), "https://id.example.com/t/acme/accounts/confirm?token=" + token},
	} {
		if c.got != c.want {
			t.Errorf("link %q, want %q", c.got, c.want)
		}
	}
}
