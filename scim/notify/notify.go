package notify

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/scimd/scimd/resources"
)

//go:embed templates
var files embed.FS

var _ resources.Notifier = (*Notifier)(nil)

// Notifier emails the domain's notices (resources.Notifier): it renders a
// notice with its template and the link to its page, and hands the message
// to a [Mailer].
type Notifier struct {
	links   Links
	mailer  Mailer
	notices map[string]*mailTemplate
}

// mailTemplate is a notice's templates: text (its blocks and layout.txt)
// and html (layout.html, with the notice's own HTML paragraphs if it has
// them).
type mailTemplate struct {
	text    *texttemplate.Template
	html    *htmltemplate.Template
	ownHTML bool
}

// New returns a notifier whose links start with baseURL, the server's
// public URL without a path ("https://id.example.com"), and that sends
// through mailer.
func New(baseURL string, mailer Mailer) *Notifier {
	n := &Notifier{links: NewLinks(baseURL), mailer: mailer, notices: map[string]*mailTemplate{}}
	for _, name := range []string{"invitation", "password-reset", "registration-confirmation", "already-registered", "admin-invitation"} {
		t := &mailTemplate{
			text: texttemplate.Must(texttemplate.ParseFS(files, "templates/layout.txt", "templates/"+name+".txt")),
			html: htmltemplate.Must(htmltemplate.ParseFS(files, "templates/layout.html")),
		}
		if _, err := fs.Stat(files, "templates/"+name+".html"); err == nil {
			t.html = htmltemplate.Must(t.html.ParseFS(files, "templates/"+name+".html"))
			t.ownHTML = true
		}
		n.notices[name] = t
	}
	return n
}

// Notify emails notice to its recipient. Its error is the mailer's, which
// never quotes the message (and so not the link's token).
func (n *Notifier) Notify(ctx context.Context, notice resources.Notice) error {
	m, err := n.Message(notice)
	if err != nil {
		return err
	}
	return n.mailer.Send(ctx, m)
}

// fields are what a notice's templates read.
type fields struct {
	// Org, Email, UserName and Role are the notice's; Expires is when its
	// link stops working, as people read it.
	Org, Email, UserName, Role, Expires string
	// OrgName is the organization as people read it: its display name,
	// else its slug.
	OrgName string
	// Account is an AlreadyRegistered account's standing: "invited",
	// "temporaryPassword", "password" or "none".
	Account string
}

// mail is what the layouts render.
type mail struct {
	Subject, Name, Button, Link string
	// Before and After are the paragraphs around the link: strings, escaped
	// in HTML, or a notice's own htmltemplate.HTML.
	Before, After []any
}

// expiryFormat is how a mail tells when its link expires.
const expiryFormat = "Monday 2 January 2006 at 15:04 UTC"

// Message renders notice as the email it is sent as.
func (n *Notifier) Message(notice resources.Notice) (Message, error) {
	var (
		name, to, greet string
		link            resources.Secret
		f               fields
	)
	expires := func(t time.Time) string { return t.UTC().Format(expiryFormat) }
	switch v := notice.(type) {
	case resources.Invitation:
		name, to, greet = "invitation", v.Email, v.Name
		f = fields{Org: v.Org, Email: v.Email, UserName: v.UserName, Expires: expires(v.Expires)}
		link = n.links.WithToken(Invite, v.Org, v.Token)
	case resources.PasswordReset:
		name, to = "password-reset", v.Email
		f = fields{Org: v.Org, Email: v.Email, UserName: v.UserName, Expires: expires(v.Expires)}
		link = n.links.WithToken(Invite, v.Org, v.Token)
	case resources.RegistrationConfirmation:
		name, to = "registration-confirmation", v.Email
		f = fields{Org: v.Org, Email: v.Email, UserName: v.UserName, Expires: expires(v.Expires)}
		link = n.links.WithToken(Confirm, v.Org, v.Token)
	case resources.AlreadyRegistered:
		name, to = "already-registered", v.Email
		f = fields{Org: v.Org, Email: v.Email, Account: standing[v.Account]}
		if v.Account == resources.AccountTemporaryPassword || v.Account == resources.AccountWithPassword {
			link = resources.Secret(n.links.Page(SignIn, v.Org)) // grants nothing: only who can sign in gets it
		}
	case resources.AdminInvitation:
		name, to = "admin-invitation", v.Email
		f = fields{Org: v.Org, OrgName: cmp.Or(v.OrgName, v.Org), Email: v.Email, Role: string(v.Role), Expires: expires(v.Expires)}
		link = n.links.WithToken(AdminAccept, v.Org, v.Token)
	default:
		return Message{}, fmt.Errorf("notify: no mail for a %T", notice)
	}
	m, err := n.notices[name].render(f, greet, link)
	if err != nil {
		return Message{}, fmt.Errorf("notify: %s mail: %w", name, err)
	}
	m.To = to
	return m, nil
}

// render renders the notice of f as a message (without its recipient),
// greeting greet by name and linking to link ("" for no link).
func (t *mailTemplate) render(f fields, greet string, link resources.Secret) (Message, error) {
	var blockErr error
	block := func(name string) string {
		var b strings.Builder
		blockErr = cmp.Or(blockErr, t.text.ExecuteTemplate(&b, name, f))
		return strings.TrimSpace(b.String())
	}
	m := mail{Subject: block("subject"), Name: greet, Button: block("button"), Link: link.Reveal(),
		Before: paragraphs(block("before")), After: paragraphs(block("after"))}
	if blockErr != nil {
		return Message{}, blockErr
	}
	var text, html bytes.Buffer
	if err := t.text.ExecuteTemplate(&text, "layout.txt", m); err != nil {
		return Message{}, err
	}
	if t.ownHTML {
		var before, after strings.Builder
		err := errors.Join(t.html.ExecuteTemplate(&before, "before", f), t.html.ExecuteTemplate(&after, "after", f))
		if err != nil {
			return Message{}, err
		}
		m.Before, m.After = htmlParagraphs(before.String()), htmlParagraphs(after.String())
	}
	if err := t.html.ExecuteTemplate(&html, "layout.html", m); err != nil {
		return Message{}, err
	}
	return Message{Subject: m.Subject, Text: text.String(), HTML: html.String()}, nil
}

// standing names an AlreadyRegistered account's standing for its template.
var standing = map[resources.RegisteredAccount]string{
	resources.AccountWithoutPassword:   "none",
	resources.AccountInvited:           "invited",
	resources.AccountTemporaryPassword: "temporaryPassword",
	resources.AccountWithPassword:      "password",
}

// blankLine separates a template's paragraphs.
var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

// paragraphs splits a block's text at its blank lines. The values the
// templates insert (organization names, addresses, dates) hold no line
// breaks, so only the templates' own blank lines split.
func paragraphs(s string) []any {
	var ps []any
	for _, p := range blankLine.Split(s, -1) {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// htmlParagraphs is paragraphs for a block html/template rendered (and so
// escaped).
func htmlParagraphs(s string) []any {
	ps := paragraphs(s)
	for i, p := range ps {
		ps[i] = htmltemplate.HTML(p.(string)) // #nosec: escaped by html/template
	}
	return ps
}
