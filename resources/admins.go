package resources

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Administrators are the people who manage an organization's customers in
// the console: an email, a password (the customers' policy and hashing) and
// a role, owner or collaborator (the customer-management guide: "An owner or
// a collaborator can manage customer accounts"). They are neither customers
// nor API tokens, and are kept apart from both.

// TypeAdmin is the audit trail's resource type of administrator changes;
// the resource id is the administrator's id, never their email.
const TypeAdmin = "Administrator"

// AdminActor is the audit trail's actor of a change an administrator made in
// the console: "admin:<id>", a form no token name can take (token names
// allow no colon).
func AdminActor(adminID string) string { return "admin:" + adminID }

// Kinds of an administrator's single-use link.
const (
	// AdminLinkInvite opens the form where an invited administrator chooses
	// their password; using it signs them in.
	AdminLinkInvite = "invite"
	// AdminLinkSignIn signs an administrator in at once: the link scimd
	// prints at a fresh start of the embedded store.
	AdminLinkSignIn = "signin"
)

// Admin is an administrator of one organization.
type Admin struct {
	// ID identifies the administrator in the store and the audit trail.
	ID string
	// Email is the address they sign in with; unique in the organization,
	// ignoring case.
	Email string
	// Role is [RoleOwner] or [RoleCollaborator].
	Role Role
	// Created is when they were added.
	Created time.Time
	// HasPassword is whether they chose a password (accepted their
	// invitation); until then only a link signs them in.
	HasPassword bool
}

// IsOwner reports whether a may manage the organization's settings, tokens
// and administrators.
func (a Admin) IsOwner() bool { return a.Role == RoleOwner }

// Session is a signed-in administrator's server-side session. The browser
// holds only its secret; the store keeps the secret's hash.
type Session struct {
	// Hash is the hash of the session's secret (HashToken).
	Hash string
	// AdminID is whose session it is.
	AdminID string
	// Created is when the administrator signed in: the session ends
	// [AdminsConfig.SessionMaxAge] later, however active.
	Created time.Time
	// CSRF is the token every form of the session must carry.
	CSRF string
}

// AdminStore keeps administrators, their single-use links and their
// sessions. Every write that changes an administrator is recorded in the
// change log with [Actor](ctx).
type AdminStore interface {
	// OrgSettings returns the organization's settings (its display name
	// for the invitations).
	OrgSettings(ctx context.Context, org string) (OrgSettings, error)
	// CreateAdmin stores a new administrator; [Uniqueness] if the email
	// (ignoring case) is taken. It returns a with its ID and Created set.
	CreateAdmin(ctx context.Context, org string, a Admin) (Admin, error)
	// Admin returns an administrator by id, or [NotFound].
	Admin(ctx context.Context, org, id string) (Admin, error)
	// AdminByEmail returns an administrator by email (ignoring case), or
	// [NotFound].
	AdminByEmail(ctx context.Context, org, email string) (Admin, error)
	// ListAdmins returns the organization's administrators, by email.
	ListAdmins(ctx context.Context, org string) ([]Admin, error)
	// SetAdminRole changes an administrator's role; [Conflict] if that would
	// leave the organization without an owner.
	SetAdminRole(ctx context.Context, org, id string, role Role) (Admin, error)
	// DeleteAdmin removes an administrator with their sessions and links;
	// [Conflict] if they are the last owner, [NotFound] if there is none.
	DeleteAdmin(ctx context.Context, org, id string) error
	// AdminPasswordHash returns an administrator's password hash ("" for
	// none yet).
	AdminPasswordHash(ctx context.Context, org, id string) (string, error)
	// SetAdminPassword replaces an administrator's password hash and ends
	// their other sessions and links (keep: the session to keep, "" none).
	SetAdminPassword(ctx context.Context, org, id, hash, keep string) error
	// PutAdminLink stores hash as a single-use link of kind for the
	// administrator until ttl passes.
	PutAdminLink(ctx context.Context, org, id, kind, hash string, ttl time.Duration) error
	// AdminLink returns the administrator a link of kind belongs to, or
	// [NotFound]; it consumes nothing.
	AdminLink(ctx context.Context, org, kind, hash string) (Admin, error)
	// RedeemAdminLink atomically consumes a link of kind, sets the
	// administrator's password hash when passwordHash is not "" (ending
	// their other links), and starts session s for them with the idle
	// timeout idle. [NotFound] when the link is unusable.
	RedeemAdminLink(ctx context.Context, org, kind, hash, passwordHash string, s Session, idle time.Duration) (Admin, error)
	// CreateSession starts session s, ending idle after no use.
	CreateSession(ctx context.Context, org string, s Session, idle time.Duration) error
	// Session returns a session by hash and extends its idle timeout, or
	// [NotFound].
	Session(ctx context.Context, org, hash string, idle time.Duration) (Session, error)
	// DeleteSession ends a session; ending one that does not exist is no
	// error.
	DeleteSession(ctx context.Context, org, hash string) error
}

// Defaults of [AdminsConfig].
const (
	DefaultSessionIdle   = 30 * time.Minute
	DefaultSessionMaxAge = 12 * time.Hour
	// DefaultSignInLinkTTL is how long the sign-in link printed at start
	// works.
	DefaultSignInLinkTTL = 15 * time.Minute
)

// ErrInvalidAdminLink is the one answer to an administrator's link that is
// not (or no longer) usable.
var ErrInvalidAdminLink = Error{Code: NotFound, Detail: "This link is not valid. It may have expired or been used already. Ask an owner of the organization to invite you again, or sign in with your email and password."}

// ErrSignedOut is the answer to a request whose session ended (or never
// was): sign in.
var ErrSignedOut = Error{Code: Unauthorized, Detail: "Your session has ended. Please sign in again."}

// AdminsConfig configures [Admins].
type AdminsConfig struct {
	// Store keeps the administrators.
	Store AdminStore
	// Notifier emails invitations, with the links to the console.
	Notifier Notifier
	// InviteTTL is how long an invitation works ([DefaultInviteTTL]).
	InviteTTL time.Duration
	// SessionIdle and SessionMaxAge end a session after that long unused,
	// and that long after sign-in.
	SessionIdle, SessionMaxAge time.Duration
	// Log receives delivery failures (never a link).
	Log *slog.Logger
	// Now is the clock sessions' ages are read by (nil: time.Now); tests
	// move it.
	Now func() time.Time
}

// Admins is the domain service of administrators: invitations, sign-in,
// sessions, and the owners' management of the organization's administrators.
type Admins struct {
	cfg AdminsConfig
}

// NewAdmins returns the administrators' service.
func NewAdmins(cfg AdminsConfig) *Admins {
	invitationDefaults(&cfg.InviteTTL, &cfg.Log)
	cfg.SessionIdle = orDefault(cfg.SessionIdle, DefaultSessionIdle)
	cfg.SessionMaxAge = orDefault(cfg.SessionMaxAge, DefaultSessionMaxAge)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Admins{cfg: cfg}
}

// checkAdminRole refuses roles an administrator cannot have.
func checkAdminRole(r Role) error {
	if r != RoleOwner && r != RoleCollaborator {
		return Errorf(InvalidValue, "role %q: an administrator is an owner or a collaborator", r)
	}
	return nil
}

// CheckAdminEmail requires an administrator's email to be a bare address,
// by the customers' rule.
func CheckAdminEmail(email string) error {
	if checkEmail(email) != nil {
		return Errorf(InvalidValue, "an administrator's email must be an address such as jane@example.com, got %q", email)
	}
	return nil
}

// requireOwner refuses actor unless they are an owner.
func requireOwner(actor Admin, what string) error {
	if !actor.IsOwner() {
		return Errorf(Forbidden, "only an owner may %s; you are a %s", what, actor.Role)
	}
	return nil
}

// Invite adds an administrator and emails them a link to choose their
// password. actor must be an owner; the zero Admin stands for the command
// line (scimd org create), which may always invite. The email must be an
// address and free among the organization's administrators.
func (a *Admins) Invite(ctx context.Context, org string, actor Admin, email string, role Role) (Admin, error) {
	if actor.ID != "" {
		if err := requireOwner(actor, "invite administrators"); err != nil {
			return Admin{}, err
		}
	}
	email = strings.TrimSpace(email)
	if err := CheckAdminEmail(email); err != nil {
		return Admin{}, err
	}
	if err := checkAdminRole(role); err != nil {
		return Admin{}, err
	}
	ad, err := a.cfg.Store.CreateAdmin(ctx, org, Admin{Email: email, Role: role})
	if err != nil {
		return Admin{}, err
	}
	if err := a.sendInvitation(ctx, org, ad); err != nil {
		return ad, err
	}
	return ad, nil
}

// ResendInvitation emails an administrator who has not chosen a password
// yet a new invitation; earlier links keep working until they expire.
func (a *Admins) ResendInvitation(ctx context.Context, org string, actor Admin, id string) error {
	if err := requireOwner(actor, "invite administrators"); err != nil {
		return err
	}
	ad, err := a.cfg.Store.Admin(ctx, org, id)
	if err != nil {
		return err
	}
	if ad.HasPassword {
		return Errorf(Conflict, "%s has already chosen a password", ad.Email)
	}
	return a.sendInvitation(ctx, org, ad)
}

func (a *Admins) sendInvitation(ctx context.Context, org string, ad Admin) error {
	token := newSecret()
	if err := a.cfg.Store.PutAdminLink(ctx, org, ad.ID, AdminLinkInvite, HashToken(token), a.cfg.InviteTTL); err != nil {
		return fmt.Errorf("store administrator invitation: %w", err)
	}
	if a.cfg.Notifier == nil {
		return Errorf(Unavailable, "no mailer is configured: the invitation cannot be sent")
	}
	n := AdminInvitation{Org: org, Email: ad.Email, Role: ad.Role, Token: token, Expires: time.Now().Add(a.cfg.InviteTTL)}
	if set, err := a.cfg.Store.OrgSettings(ctx, org); err == nil {
		n.OrgName = set.DisplayName // else the mail names the organization by its slug
	}
	if err := a.cfg.Notifier.Notify(ctx, n); err != nil {
		a.cfg.Log.WarnContext(ctx, "administrator invitation not sent", "org", org, "admin_id", ad.ID, "err", err)
		return Errorf(Unavailable, "the invitation email to %s could not be sent; try again later", ad.Email)
	}
	return nil
}

// EnsureOwner returns the organization's administrator of this email,
// making them an owner without a password when there is none, for
// start-up set-up; created says whether they are new.
func (a *Admins) EnsureOwner(ctx context.Context, org, email string) (ad Admin, created bool, err error) {
	if err := CheckAdminEmail(email); err != nil {
		return Admin{}, false, err
	}
	ad, err = a.cfg.Store.AdminByEmail(ctx, org, email)
	if err == nil {
		return ad, false, nil
	}
	if ErrorCode(err) != NotFound {
		return Admin{}, false, err
	}
	ad, err = a.cfg.Store.CreateAdmin(ctx, org, Admin{Email: email, Role: RoleOwner})
	return ad, err == nil, err
}

// SignInLink returns the token of a single-use link that signs the
// administrator in at once ([Admins.UseSignInLink]), working for ttl: what
// a development server prints (the pages make the link of it).
func (a *Admins) SignInLink(ctx context.Context, org, id string, ttl time.Duration) (Secret, error) {
	token := newSecret()
	if err := a.cfg.Store.PutAdminLink(ctx, org, id, AdminLinkSignIn, HashToken(token), ttl); err != nil {
		return "", fmt.Errorf("store sign-in link: %w", err)
	}
	return token, nil
}

// Invitation returns the administrator an invitation token belongs to, or
// [ErrInvalidAdminLink].
func (a *Admins) Invitation(ctx context.Context, org string, token Secret) (Admin, error) {
	return a.linkAdmin(ctx, org, AdminLinkInvite, token)
}

// SignInLinkAdmin returns the administrator a sign-in link's token belongs
// to, or [ErrInvalidAdminLink], without using the link: a page asks before
// [Admins.UseSignInLink] (mail scanners and link previews open links).
func (a *Admins) SignInLinkAdmin(ctx context.Context, org string, token Secret) (Admin, error) {
	return a.linkAdmin(ctx, org, AdminLinkSignIn, token)
}

// linkAdmin returns the administrator of a link of kind, or
// [ErrInvalidAdminLink].
func (a *Admins) linkAdmin(ctx context.Context, org, kind string, token Secret) (Admin, error) {
	if token == "" {
		return Admin{}, ErrInvalidAdminLink
	}
	ad, err := a.cfg.Store.AdminLink(ctx, org, kind, HashToken(token))
	if ErrorCode(err) == NotFound {
		return Admin{}, ErrInvalidAdminLink
	}
	return ad, err
}

// newSession returns a fresh session for id and its secret.
func newSession(id string) (Session, Secret) {
	secret := newSecret()
	return Session{Hash: HashToken(secret), AdminID: id, Created: time.Now().UTC(), CSRF: newSecret().Reveal()}, secret
}

// AcceptInvitation sets the invited administrator's password (the
// customers' policy) and signs them in.
func (a *Admins) AcceptInvitation(ctx context.Context, org string, token, password Secret) (Admin, Session, Secret, error) {
	ad, err := a.Invitation(ctx, org, token)
	if err != nil {
		return Admin{}, Session{}, "", err
	}
	if err := CheckPasswordPolicy(password, ad.Email); err != nil {
		return Admin{}, Session{}, "", err
	}
	return a.redeem(ctx, org, AdminLinkInvite, token, HashPassword(password), ad.ID)
}

// UseSignInLink signs an administrator in with a sign-in link.
func (a *Admins) UseSignInLink(ctx context.Context, org string, token Secret) (Admin, Session, Secret, error) {
	if token == "" {
		return Admin{}, Session{}, "", ErrInvalidAdminLink
	}
	return a.redeem(ctx, org, AdminLinkSignIn, token, "", "")
}

func (a *Admins) redeem(ctx context.Context, org, kind string, token Secret, pwHash, id string) (Admin, Session, Secret, error) {
	s, secret := newSession(id)
	ad, err := a.cfg.Store.RedeemAdminLink(WithActor(ctx, AdminActor(id)), org, kind, HashToken(token), pwHash, s, a.cfg.SessionIdle)
	if ErrorCode(err) == NotFound {
		return Admin{}, Session{}, "", ErrInvalidAdminLink
	}
	if err != nil {
		return Admin{}, Session{}, "", err
	}
	s.AdminID = ad.ID
	return ad, s, secret, nil
}

// SignIn checks an administrator's email and password and starts a
// session. A wrong email, a wrong password and an administrator without a
// password are one [Unauthorized] answer.
func (a *Admins) SignIn(ctx context.Context, org, email string, password Secret) (Admin, Session, Secret, error) {
	wrong := Errorf(Unauthorized, "invalid email or password")
	ad, err := a.cfg.Store.AdminByEmail(ctx, org, strings.TrimSpace(email))
	hash := ""
	switch {
	case err == nil:
		if hash, err = a.cfg.Store.AdminPasswordHash(ctx, org, ad.ID); err != nil {
			return Admin{}, Session{}, "", err
		}
	case ErrorCode(err) != NotFound:
		return Admin{}, Session{}, "", err
	}
	if hash == "" {
		// Hash anyway, so that the answer takes as long as for a known
		// address: timing does not tell which addresses are administrators.
		VerifyPassword(dummyHash(), password)
		return Admin{}, Session{}, "", wrong
	}
	if !VerifyPassword(hash, password) {
		return Admin{}, Session{}, "", wrong
	}
	s, secret := newSession(ad.ID)
	if err := a.cfg.Store.CreateSession(ctx, org, s, a.cfg.SessionIdle); err != nil {
		return Admin{}, Session{}, "", err
	}
	return ad, s, secret, nil
}

// Session returns the administrator signed in with the session secret and
// the session, or [ErrSignedOut]. It reads the administrator afresh, so a
// role change or a removal takes effect at the next request.
func (a *Admins) Session(ctx context.Context, org string, secret Secret) (Admin, Session, error) {
	if secret == "" {
		return Admin{}, Session{}, ErrSignedOut
	}
	s, err := a.cfg.Store.Session(ctx, org, HashToken(secret), a.cfg.SessionIdle)
	if ErrorCode(err) == NotFound {
		return Admin{}, Session{}, ErrSignedOut
	}
	if err != nil {
		return Admin{}, Session{}, err
	}
	if a.cfg.Now().Sub(s.Created) > a.cfg.SessionMaxAge {
		_ = a.cfg.Store.DeleteSession(ctx, org, s.Hash)
		return Admin{}, Session{}, ErrSignedOut
	}
	ad, err := a.cfg.Store.Admin(ctx, org, s.AdminID)
	if ErrorCode(err) == NotFound {
		return Admin{}, Session{}, ErrSignedOut
	}
	if err != nil {
		return Admin{}, Session{}, err
	}
	return ad, s, nil
}

// SignOut ends the session of secret.
func (a *Admins) SignOut(ctx context.Context, org string, secret Secret) error {
	if secret == "" {
		return nil
	}
	return a.cfg.Store.DeleteSession(ctx, org, HashToken(secret))
}

// ChangePassword replaces actor's own password, checking the current one
// when they have one; their other sessions end, the one of keep (a session
// hash) stays.
func (a *Admins) ChangePassword(ctx context.Context, org string, actor Admin, current, next Secret, keep string) error {
	hash, err := a.cfg.Store.AdminPasswordHash(ctx, org, actor.ID)
	if err != nil {
		return err
	}
	if hash != "" && !VerifyPassword(hash, current) {
		return Errorf(Unauthorized, "the current password is not right")
	}
	if err := CheckPasswordPolicy(next, actor.Email); err != nil {
		return err
	}
	return a.cfg.Store.SetAdminPassword(ctx, org, actor.ID, HashPassword(next), keep)
}

// List returns the organization's administrators; any administrator may
// see them.
func (a *Admins) List(ctx context.Context, org string) ([]Admin, error) {
	return a.cfg.Store.ListAdmins(ctx, org)
}

// SetRole changes an administrator's role; only owners may, and the last
// owner cannot be demoted.
func (a *Admins) SetRole(ctx context.Context, org string, actor Admin, id string, role Role) (Admin, error) {
	if err := requireOwner(actor, "change administrators' roles"); err != nil {
		return Admin{}, err
	}
	if err := checkAdminRole(role); err != nil {
		return Admin{}, err
	}
	return a.cfg.Store.SetAdminRole(ctx, org, id, role)
}

// Remove removes an administrator, ending their sessions; only owners may,
// and the last owner cannot be removed.
func (a *Admins) Remove(ctx context.Context, org string, actor Admin, id string) error {
	if err := requireOwner(actor, "remove administrators"); err != nil {
		return err
	}
	return a.cfg.Store.DeleteAdmin(ctx, org, id)
}

// ErrLastOwner is the answer to a change that would leave an
// organization without an owner.
var ErrLastOwner = Error{Code: Conflict, Detail: "This is the organization's last owner: make another administrator an owner first."}
