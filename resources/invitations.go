package resources

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Onboarding: an administrator creates a customer with passwordSetup
// "invite"; scimd mints a random single-use token, keeps only its hash, and
// emails the customer a link to the page where they set their password
// ([Users.AcceptInvitation]). A customer whose administrator set a temporary
// password signs in with it on the sign-in page and gets a short-lived,
// single-use ticket to choose their own ([Users.StartPasswordChange],
// [Users.ChangeTemporaryPassword]). Tokens and tickets are secrets: they
// appear in the email and the customer's browser only, never in a log, an
// error or a response.

// Defaults of [Onboarding]; DefaultInviteTTL is [AdminsConfig]'s too: an
// invitation works as long whoever it invites.
const (
	DefaultInviteTTL = 72 * time.Hour
	DefaultTicketTTL = 10 * time.Minute
	DefaultMailEvery = time.Minute
)

// Actions of the audit trail for invitations and passwords.
const (
	// ActionInvite is an invitation (or a password-reset link) sent or
	// resent, and the accountState it leaves.
	ActionInvite Action = "invite"
	// ActionSetPassword is a customer choosing their password with an
	// emailed link or replacing a temporary one: not a profile edit.
	ActionSetPassword Action = "setPassword"
)

// ErrInvalidInvitation is the one answer to an invitation token that is not
// (or no longer) usable: unknown, forged, already used, replaced by a newer
// one, expired, of another organization, or of an account that is no longer
// waiting for it. The page shows its detail.
var ErrInvalidInvitation = Error{Code: NotFound, Detail: "This invitation link is not valid. It may have expired, been used already, or been replaced by a newer invitation. Ask an administrator of your organization to send you a new one."}

// ErrInvalidTicket is the one answer to a password-change ticket that is not
// (or no longer) usable: the customer signs in again.
var ErrInvalidTicket = Error{Code: NotFound, Detail: "Your sign-in has expired. Sign in again with your temporary password to choose a new one."}

// OnboardingStore keeps the hashes of onboarding secrets: invitations,
// password-change tickets and self-registration confirmations. Each expires
// on its own and works once.
type OnboardingStore interface {
	RegistrationStore
	// RecentOrgSettings is OrgSettings as read at most a few seconds ago,
	// for the hot path of creations; changes made through the same store
	// are seen at once.
	RecentOrgSettings(ctx context.Context, org string) (OrgSettings, error)
	// PutInvitation stores hash as the user's one invitation until ttl
	// passes, revoking the one it had, if the user's version is still
	// version (else [ErrVersionConflict]); [NotFound] if there is no user.
	PutInvitation(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64) error
	// InvitationUser returns the id of the user an invitation hash belongs
	// to, or [NotFound].
	InvitationUser(ctx context.Context, org, hash string) (string, error)
	// RedeemInvitation atomically consumes the invitation hash of u.ID and
	// writes u with w's password hash, if the user's version is still
	// version ([ErrVersionConflict]) and the invitation still exists
	// ([NotFound]).
	RedeemInvitation(ctx context.Context, org, hash string, u Resource, version int64, w UserWrite) (Resource, error)
	// PutTicket stores hash as a password-change ticket of the user, issued
	// for the password of stamp (a stamp of its hash), until ttl passes.
	PutTicket(ctx context.Context, org, userID string, stamp int64, hash string, ttl time.Duration) error
	// TicketUser returns the id of the user a ticket hash belongs to and the
	// stamp of the password it was issued for, or [NotFound].
	TicketUser(ctx context.Context, org, hash string) (userID string, stamp int64, err error)
	// RedeemTicket is RedeemInvitation for a password-change ticket.
	RedeemTicket(ctx context.Context, org, hash string, u Resource, version int64, w UserWrite) (Resource, error)
}

// Onboarding configures invitations, password-change tickets and
// self-registration. Without it (see [Users.WithOnboarding]) invited customers
// are created waiting for an invitation that is never sent, and
// self-registration is closed.
type Onboarding struct {
	// Store keeps the secrets' hashes.
	Store OnboardingStore
	// Notifier emails the invitations, password resets and registration
	// notices, with the links to the customer pages.
	Notifier Notifier
	// InviteTTL is how long an invitation works ([DefaultInviteTTL]);
	// TicketTTL how long a password-change ticket does ([DefaultTicketTTL]);
	// ConfirmTTL how long a self-registration's confirmation link does
	// ([DefaultConfirmTTL]).
	InviteTTL, TicketTTL, ConfirmTTL time.Duration
	// MailEvery is how often, at most, the public pages (forgot password,
	// registration) email one account ([DefaultMailEvery]): a request
	// within that time of the last email sends nothing and changes nothing,
	// and the link already sent stays good. Each address is limited too
	// (the pages' rate limit), but not everyone asking for one account.
	// Negative: no window (tests that send one account several emails).
	MailEvery time.Duration
	// Log receives delivery failures (never the link or the token).
	Log *slog.Logger
}

// WithOnboarding makes u send invitations and issue password-change tickets
// as o says, and returns u. Call it before u serves requests.
func (u *Users) WithOnboarding(o Onboarding) *Users {
	invitationDefaults(&o.InviteTTL, &o.Log)
	o.TicketTTL = orDefault(o.TicketTTL, DefaultTicketTTL)
	o.ConfirmTTL = orDefault(o.ConfirmTTL, DefaultConfirmTTL)
	if o.MailEvery == 0 {
		o.MailEvery = DefaultMailEvery
	}
	u.onboarding = &o
	return u
}

// mailTurns grants the public pages' emails of one request
// ([Onboarding.MailEvery]): a turn taken is kept for the request's retries,
// which may send again what a lost race did not.
type mailTurns struct {
	o     *Onboarding
	taken map[string]bool
}

// take reports whether the request may email user id of org now.
func (m *mailTurns) take(ctx context.Context, org, id string) (bool, error) {
	if m.taken[id] || m.o.MailEvery < 0 {
		return true, nil
	}
	ok, err := m.o.Store.TakeMailTurn(ctx, org, id, m.o.MailEvery)
	if err != nil || !ok {
		return false, err
	}
	if m.taken == nil {
		m.taken = map[string]bool{}
	}
	m.taken[id] = true
	return true, nil
}

// invitationDefaults fills what a service that mails invitations
// (customers' onboarding, [Admins]) leaves unset: the invitation lifetime,
// [DefaultInviteTTL], and a logger, one that discards.
func invitationDefaults(ttl *time.Duration, log **slog.Logger) {
	*ttl = orDefault(*ttl, DefaultInviteTTL)
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
}

// orDefault returns the lifetime d, or def when d is unset (zero or less).
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newSecret returns a random single-use secret: 32 bytes, base64url.
func newSecret() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return Secret(base64.RawURLEncoding.EncodeToString(b))
}

// invited reports whether an account is waiting for its customer to accept
// an invitation (whether or not its email was delivered).
func invited(r Resource) bool {
	s := accountState(r)
	return s == schemas.AccountStatePendingInvitation || s == schemas.AccountStateInvitationNotDelivered
}

// passwordState reports whether an account's state is one where its
// customer signs in with a password (see [maySignIn]).
func passwordState(r Resource) bool {
	s := accountState(r)
	return s == schemas.AccountStateActive || s == schemas.AccountStatePasswordChangeRequired
}

// ResendInvitation emails the customer id a new link to choose their
// password; the link sent before stops working. What the link does depends on
// the account:
//
//   - an account without a usable password (waiting for an invitation, a
//     registration not yet confirmed, or no password at all, as identity
//     providers create accounts without passwordSetup) is invited: it becomes
//     pendingInvitation, and the link sets its first password;
//   - an account with a password (active, or with a temporary password to
//     change) gets a password reset: nothing changes, and its password keeps
//     working, until the customer uses the link, which sets the new password
//     and makes the account active.
//
// It is [Unavailable] when the email cannot be sent: an invited account is
// then invitationNotDelivered, a reset one unchanged. It returns the user as
// stored after the send.
func (u *Users) ResendInvitation(ctx context.Context, org, id string) (Resource, error) {
	if u.onboarding == nil {
		return Resource{}, errors.New("resend invitation: onboarding is not configured")
	}
	var res Resource
	err := retryWrites(ctx, busyUser(id), func() error {
		cur, err := u.store.GetUser(ctx, org, id)
		if err != nil {
			return err
		}
		res, err = u.resend(ctx, org, cur)
		return lostRace(err)
	})
	return res, err
}

// resend is one attempt of [Users.ResendInvitation] on cur as read; it is
// [ErrVersionConflict] when cur changed meanwhile.
func (u *Users) resend(ctx context.Context, org string, cur Resource) (Resource, error) {
	hash, err := u.store.PasswordHash(ctx, org, cur.ID)
	if err != nil {
		return Resource{}, err
	}
	settings, err := u.orgSettings(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	to := mailAddress(cur, settings.UserNameRule())
	if to == "" {
		return Resource{}, errNoAddress(cur.ID)
	}
	if hash != "" && passwordState(cur) {
		return u.sendPasswordReset(ctx, org, cur, to)
	}
	if !invited(cur) {
		next := Resource{ID: cur.ID, Attributes: cloneMap(cur.Attributes)}
		// Undelivered until the email is sent, as at creation (prepare).
		stampAccountState(next.Attributes, schemas.AccountStateInvitationNotDelivered)
		res, err := u.store.ReplaceUser(WithAction(ctx, ActionInvite), org, next, cur.Version, UserWrite{})
		if err != nil {
			return Resource{}, err
		}
		res.Groups, cur = cur.Groups, res
	}
	res, sent, err := u.invite(ctx, org, cur, to)
	if err != nil {
		return Resource{}, err
	}
	if !sent {
		return Resource{}, Errorf(Unavailable, "the invitation email to user %q could not be sent (the server logged why); its accountState is %q: try again later", cur.ID, schemas.AccountStateInvitationNotDelivered)
	}
	return res, nil
}

// sendPasswordReset emails cur, an account with a password, a link to choose
// a new one (an invitation token: the same page, the same single use),
// revoking the link sent before; it is [ErrVersionConflict] when cur changed
// meanwhile. The account is not written: its password works until the link
// is used.
func (u *Users) sendPasswordReset(ctx context.Context, org string, cur Resource, to string) (Resource, error) {
	o := u.onboarding
	token := newSecret()
	if err := o.Store.PutInvitation(ctx, org, cur.ID, HashToken(token), o.InviteTTL, cur.Version); err != nil {
		return Resource{}, err
	}
	n := PasswordReset{Org: org, Email: to, UserName: loginUnlessAddress(cur, to), Token: token, Expires: time.Now().Add(o.InviteTTL)}
	if err := o.Notifier.Notify(context.WithoutCancel(ctx), n); err != nil {
		o.Log.ErrorContext(ctx, "password reset email not sent", "org", org, "resource_id", cur.ID,
			"err", strings.ReplaceAll(err.Error(), token.Reveal(), "REDACTED"))
		return Resource{}, Errorf(Unavailable, "the email to user %q could not be sent (the server logged why); the account and its password are unchanged: try again later", cur.ID)
	}
	return cur, nil
}

// invite mints an invitation for the invited user cur, stores its hash
// (revoking any earlier one) and emails the link to the address to. sent reports the delivery:
// on failure the account becomes invitationNotDelivered, and after a
// successful resend pendingInvitation again. The failure is logged without
// the link.
func (u *Users) invite(ctx context.Context, org string, cur Resource, to string) (res Resource, sent bool, err error) {
	o := u.onboarding
	token := newSecret()
	first := true
	err = retryWrites(ctx, busyUser(cur.ID), func() error {
		if !first {
			var err error
			if cur, err = u.store.GetUser(ctx, org, cur.ID); err != nil {
				return err
			}
			if !invited(cur) {
				return Errorf(Conflict, "user %q accepted their invitation meanwhile", cur.ID)
			}
		}
		first = false
		return lostRace(o.Store.PutInvitation(ctx, org, cur.ID, HashToken(token), o.InviteTTL, cur.Version))
	})
	if err != nil {
		return Resource{}, false, err
	}
	n := Invitation{Org: org, Email: to, UserName: loginUnlessAddress(cur, to), Name: calledName(cur),
		Token: token, Expires: time.Now().Add(o.InviteTTL)}
	// The user exists whether or not the email goes out: a client that
	// hangs up now must not leave the delivery half done.
	sendErr := o.Notifier.Notify(context.WithoutCancel(ctx), n)
	next := schemas.AccountStatePendingInvitation
	if sendErr != nil {
		o.Log.ErrorContext(ctx, "invitation email not sent", "org", org, "resource_id", cur.ID,
			"err", strings.ReplaceAll(sendErr.Error(), token.Reveal(), "REDACTED"))
		next = schemas.AccountStateInvitationNotDelivered
	}
	res, err = u.setAccountState(ctx, org, cur, next)
	return res, sendErr == nil, err
}

// setAccountState writes state as cur's accountState, unless it is already
// so or the account stopped waiting for an invitation meanwhile; it returns
// the user as stored.
func (u *Users) setAccountState(ctx context.Context, org string, cur Resource, state string) (Resource, error) {
	var res Resource
	first := true
	err := retryWrites(ctx, busyUser(cur.ID), func() error {
		if !first {
			var err error
			if cur, err = u.store.GetUser(ctx, org, cur.ID); err != nil {
				return err
			}
		}
		first = false
		if accountState(cur) == state || !invited(cur) {
			res = cur
			return nil
		}
		next := Resource{ID: cur.ID, Attributes: cloneMap(cur.Attributes)}
		stampAccountState(next.Attributes, state)
		var err error
		res, err = u.store.ReplaceUser(WithAction(ctx, ActionInvite), org, next, cur.Version, UserWrite{})
		if err == nil {
			res.Groups = cur.Groups
		}
		return lostRace(err)
	})
	if err != nil {
		return Resource{}, err
	}
	return res, nil
}

// Invitation returns the account an invitation token (or password-reset
// link, see [Users.ResendInvitation]) of org is for, if the token is usable
// and the account still waits for an invitation or has a password to
// replace; else [ErrInvalidInvitation]. A link ends with the account, with a
// new password and when the account is disabled ([UserWrite.EndLinks]); one
// sent to an account that was disabled already (an identity provider
// creating it ahead of its start date) sets the password the customer signs
// in with once the account is enabled.
func (u *Users) Invitation(ctx context.Context, org string, token Secret) (Resource, error) {
	if u.onboarding == nil || token == "" {
		return Resource{}, ErrInvalidInvitation
	}
	usable := func(r Resource) bool { return invited(r) || passwordState(r) }
	return u.tokenAccount(ctx, org, token, u.onboarding.Store.InvitationUser, usable, ErrInvalidInvitation)
}

// tokenAccount returns the account a single-use secret of org (an
// invitation, a confirmation, a password-change ticket) is for: lookup maps
// the secret's hash to the user id, and the account must still be in the
// state the secret is for (usable). Anything else is invalid.
func (u *Users) tokenAccount(ctx context.Context, org string, secret Secret,
	lookup func(ctx context.Context, org, hash string) (string, error), usable func(Resource) bool, invalid Error,
) (Resource, error) {
	id, err := lookup(ctx, org, HashToken(secret))
	if err != nil {
		return Resource{}, asInvalid(err, invalid)
	}
	cur, err := u.store.GetUser(ctx, org, id)
	if err != nil {
		return Resource{}, asInvalid(err, invalid)
	}
	if !usable(cur) {
		return Resource{}, invalid
	}
	return cur, nil
}

// AcceptInvitation sets the password of the account an invitation token (or
// password-reset link) of org is for and makes the account active, consuming
// the token: it works once. The password must pass [CheckPasswordPolicy] (the error's detail is a
// sentence for the customer). Every unusable token is [ErrInvalidInvitation],
// and then nothing changes. The change log records a "setPassword" by the
// customer.
func (u *Users) AcceptInvitation(ctx context.Context, org string, token, password Secret) (Resource, error) {
	hash := HashToken(token)
	return u.redeem(ctx, org, password, ErrInvalidInvitation,
		func() (Resource, error) { return u.Invitation(ctx, org, token) },
		func(cur Resource) error { return nil },
		func(ctx context.Context, next Resource, version int64, w UserWrite) (Resource, error) {
			return u.onboarding.Store.RedeemInvitation(WithAction(ctx, ActionSetPassword), org, hash, next, version, w)
		})
}

// StartPasswordChange issues a password-change ticket for self, a customer
// who signed in with a temporary password ([Users.Authenticate]): the secret
// the change-password page carries instead of the password. It works once,
// for [Onboarding.TicketTTL].
func (u *Users) StartPasswordChange(ctx context.Context, org string, self Resource) (Secret, error) {
	if u.onboarding == nil {
		return "", errors.New("start password change: onboarding is not configured")
	}
	if accountState(self) != schemas.AccountStatePasswordChangeRequired {
		return "", Errorf(Conflict, "user %q has no temporary password to change", self.ID)
	}
	// The ticket records a stamp of the password hash the customer signed
	// in with, and of the account's disables (SignInStamp). The hash is
	// read before the account: an account still at the version that signed
	// in had this hash when its password was checked.
	hash, err := u.store.SignInStamp(ctx, org, self.ID)
	if err != nil {
		return "", err
	}
	cur, err := u.store.GetUser(ctx, org, self.ID)
	if err != nil {
		return "", asInvalid(err, ErrInvalidTicket)
	}
	if hash == "" || cur.Version != self.Version {
		return "", ErrInvalidTicket
	}
	ticket := newSecret()
	if err := u.onboarding.Store.PutTicket(ctx, org, self.ID, ticketStamp(hash), HashToken(ticket), u.onboarding.TicketTTL); err != nil {
		return "", err
	}
	return ticket, nil
}

// ticketStamp is what a password-change ticket keeps of the password it
// was issued for: 63 bits of the SHA-256 of the user's
// [UserStore.SignInStamp], which changes with every password set
// (argon2id hashes are salted) and every disable, and with nothing else.
func ticketStamp(hash string) int64 {
	sum := sha256.Sum256([]byte(hash))
	return int64(binary.BigEndian.Uint64(sum[:8]) >> 1)
}

// Ticket returns the account a password-change ticket of org is for, if the
// ticket is usable and the account still has a temporary password; else
// [ErrInvalidTicket].
func (u *Users) Ticket(ctx context.Context, org string, ticket Secret) (Resource, error) {
	if u.onboarding == nil || ticket == "" {
		return Resource{}, ErrInvalidTicket
	}
	// A ticket is good while the account keeps the temporary password the
	// customer signed in with (its stamp) and may sign in: once an
	// administrator sets another password, only that one leads to a new
	// ticket. Other changes (a group renamed or joined, a new version of the
	// account) leave it.
	var issued int64
	lookup := func(ctx context.Context, org, hash string) (string, error) {
		id, stamp, err := u.onboarding.Store.TicketUser(ctx, org, hash)
		issued = stamp
		return id, err
	}
	cur, err := u.tokenAccount(ctx, org, ticket, lookup, func(r Resource) bool {
		return enabled(r) && accountState(r) == schemas.AccountStatePasswordChangeRequired
	}, ErrInvalidTicket)
	if err != nil {
		return Resource{}, err
	}
	// Read after the account: a password set since is seen here, or makes
	// the write conditional on cur's version fail. A disable since the
	// ticket was issued changed the stamp too, even if the account was
	// enabled again.
	hash, err := u.store.SignInStamp(ctx, org, cur.ID)
	if err != nil {
		return Resource{}, err
	}
	if hash == "" || ticketStamp(hash) != issued {
		return Resource{}, ErrInvalidTicket
	}
	return cur, nil
}

// ChangeTemporaryPassword replaces the temporary password of the account a
// ticket of org is for and makes the account active, consuming the ticket.
// The password must pass [CheckPasswordPolicy] and differ from the temporary
// one. Every unusable ticket is [ErrInvalidTicket], and then nothing changes.
// The change log records a "setPassword" by the customer.
func (u *Users) ChangeTemporaryPassword(ctx context.Context, org string, ticket, password Secret) (Resource, error) {
	hash := HashToken(ticket)
	return u.redeem(ctx, org, password, ErrInvalidTicket,
		func() (Resource, error) { return u.Ticket(ctx, org, ticket) },
		func(cur Resource) error {
			old, err := u.store.PasswordHash(ctx, org, cur.ID)
			if err != nil {
				return err
			}
			if old != "" && VerifyPassword(old, password) {
				return Errorf(InvalidValue, "Your new password must differ from your temporary password.")
			}
			return nil
		},
		func(ctx context.Context, next Resource, version int64, w UserWrite) (Resource, error) {
			return u.onboarding.Store.RedeemTicket(WithAction(ctx, ActionSetPassword), org, hash, next, version, w)
		})
}

// redeem is the read-check-write loop of accepting an invitation and of
// changing a temporary password: load the account the secret is for, check
// the new password, then consume the secret and write the password and the
// active state in one store call, retrying if the account changed between.
func (u *Users) redeem(ctx context.Context, org string, password Secret, invalid Error,
	load func() (Resource, error), check func(cur Resource) error,
	write func(ctx context.Context, next Resource, version int64, w UserWrite) (Resource, error),
) (Resource, error) {
	var w UserWrite
	return u.activate(ctx, invalid, load, func(cur Resource) (UserWrite, error) {
		if problem := PasswordProblem(password, stringAttr(cur.Attributes, "userName"), accountNames(cur)...); problem != "" {
			return UserWrite{}, Errorf(InvalidValue, "Your new password %s.", problem)
		}
		if err := check(cur); err != nil {
			return UserWrite{}, err
		}
		if w.PasswordHash == "" { // hash once, however many attempts
			w.PasswordHash = HashPassword(password)
		}
		return w, nil
	}, write)
}

// activate is the loop behind every single-use secret: load the account the
// secret names, prepare what to write beside it, then consume the secret and
// make the account active in one store call (attributed to the customer),
// retrying if the account changed in between. A secret the store no longer
// has is invalid.
func (u *Users) activate(ctx context.Context, invalid Error,
	load func() (Resource, error), prepare func(cur Resource) (UserWrite, error),
	write func(ctx context.Context, next Resource, version int64, w UserWrite) (Resource, error),
) (Resource, error) {
	var res Resource
	busy := Errorf(Conflict, "your account is being changed by other requests at the same time; try again")
	err := retryWrites(ctx, busy, func() error {
		cur, err := load()
		if err != nil {
			return err
		}
		w, err := prepare(cur)
		if err != nil {
			return err
		}
		next := Resource{ID: cur.ID, Attributes: cloneMap(cur.Attributes)}
		stampAccountState(next.Attributes, schemas.AccountStateActive)
		res, err = write(WithActor(ctx, CustomerActor(cur.ID)), next, cur.Version, w)
		switch {
		case err == nil:
			res.Groups = cur.Groups
			return nil
		case ErrorCode(err) == NotFound:
			return invalid
		}
		return lostRace(err)
	})
	if err != nil {
		return Resource{}, err
	}
	return res, nil
}

// accountNames returns what an account is called besides its userName
// (first, last and display name, email addresses), which a password should
// not be built from.
func accountNames(r Resource) []string {
	var names []string
	if n, ok := r.Attributes["name"].(map[string]any); ok {
		for _, k := range []string{"givenName", "familyName"} {
			if s, _ := n[k].(string); s != "" {
				names = append(names, s)
			}
		}
	}
	if s := stringAttr(r.Attributes, "displayName"); s != "" {
		names = append(names, s)
	}
	// Under userNameFormat any the userName is not the email address: the
	// addresses are names the account is known by too.
	add := func(m map[string]any) {
		if s, _ := m["value"].(string); s != "" {
			names = append(names, s)
		}
	}
	switch emails := r.Attributes["emails"].(type) {
	case []any:
		for _, e := range emails {
			if m, ok := e.(map[string]any); ok {
				add(m)
			}
		}
	case []map[string]any:
		for _, m := range emails {
			add(m)
		}
	}
	return names
}

// calledName is what an invitation calls its customer: their first name,
// else their display name, else nothing.
func calledName(r Resource) string {
	if n, ok := r.Attributes["name"].(map[string]any); ok {
		if s, _ := n["givenName"].(string); s != "" {
			return s
		}
	}
	return stringAttr(r.Attributes, "displayName")
}

// asInvalid turns "not found" into the invalid-secret answer and keeps other
// errors (the store failing) as they are.
func asInvalid(err error, invalid Error) error {
	if ErrorCode(err) == NotFound {
		return invalid
	}
	return err
}
