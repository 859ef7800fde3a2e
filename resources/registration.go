package resources

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

// Self-registration, off unless the organization enables it
// ([OrgSettings.SelfRegistration]: an open form lets anyone create accounts,
// so each organization chooses it): a customer fills in a public form; scimd
// creates their account in accountState "pendingConfirmation", with the
// password they chose already stored (hashed) but unusable, and emails a
// single-use link to the address. The link's page asks for that password
// ([Users.ConfirmRegistration]): only someone who holds both the address's mail and the password chosen at registration makes the
// account active. A link alone never activates a password that the owner of
// the address did not choose (someone else may have registered their address).
//
// The form's answer never tells whether the email already has an account: a
// confirmed, invited or administrator-created account gets no second account,
// and its owner is told by email that someone tried to register with it
// ([Users.Register]).
//
// Where the organization's userNames are logins rather than addresses
// (userNameFormat "any"), the form asks for a username and an email address:
// the username becomes the userName (the API's rule, checkUserName), the
// address the primary email, where the link goes. A username is chosen, not
// owned, so one that another account has is refused on the form
// ([ErrUserNameTaken]): a registrant cannot be told by mail that a name they
// typed is in use, and usernames are not secret (they are what people sign in
// with).
//
// An unconfirmed account stays, visible to administrators as
// pendingConfirmation, until it is confirmed or deleted. Registering the same
// address again replaces the registration in place (names, password, a new
// link; the previous link stops working), so the owner of an address can
// always finish registering it, whoever registered it first.

// DefaultConfirmTTL is how long a registration's confirmation link works,
// unless [Onboarding.ConfirmTTL] says otherwise.
const DefaultConfirmTTL = 24 * time.Hour

// RegistrationActor is the audit trail's actor of the accounts that
// self-registration creates (and of the stale registrations it replaces):
// nobody is signed in yet. The confirmation is the customer's own
// ([CustomerActor]).
const RegistrationActor = "self-registration"

// Actions of the audit trail for self-registration.
const (
	// ActionRegister is a confirmation link issued for a new
	// self-registered account.
	ActionRegister Action = "register"
	// ActionConfirm is a self-registered account confirmed by its customer.
	ActionConfirm Action = "confirm"
)

// TypeSettings is the audit trail's resource type of an organization
// setting; the resource id is the setting's name ("selfRegistration").
const TypeSettings = "Settings"

// MaxNameLength bounds a first or last name typed into the registration form.
const MaxNameLength = 256

// OrgSettings are an organization's own switches, kept in the store.
type OrgSettings struct {
	// SelfRegistration opens the public registration pages. Off by default.
	SelfRegistration bool
	// DisplayName is the organization's name as people read it ("Acme
	// Inc."); "" shows its slug.
	DisplayName string
	// Onboarding is the policy for customers created without passwordSetup
	// ([OnboardingInvite], [OnboardingNone]); "" is [DefaultOnboarding].
	Onboarding string
	// UserNameFormat is the rule of userNames ([schemas.UserNameFormatEmail],
	// [schemas.UserNameFormatAny]); "" is email.
	UserNameFormat string
	// SubstringSearch are the attributes co and ew filters are answered
	// for from trigram indexes (none by default), and SubstringPending
	// those whose index is still being built or removed: comma-separated
	// lists (the settings stay comparable), read with [SplitAttributes].
	SubstringSearch, SubstringPending string
}

// SplitAttributes returns the attributes of a comma-separated list ("":
// none, an empty list).
func SplitAttributes(list string) []string {
	if list == "" {
		return []string{}
	}
	return strings.Split(list, ",")
}

// ErrRegistrationClosed is the answer of every registration call when the
// organization does not allow self-registration (or does not exist: the two
// are not told apart).
var ErrRegistrationClosed = Error{Code: NotFound, Detail: "This organization does not offer self-registration. Ask an administrator of the organization to create an account for you."}

// ErrInvalidConfirmation is the one answer to a confirmation token that is
// not (or no longer) usable: unknown, forged, already used, replaced by a
// newer registration, expired, of another organization, or of an account
// that is no longer waiting for it.
var ErrInvalidConfirmation = Error{Code: NotFound, Detail: "This confirmation link is not valid. It may have expired, been used already, or been replaced by a newer registration of the same address. If your account is not active yet, register again: that sends you a new link."}

// ErrUserNameTaken is the answer to a registration, where the organization's
// userNameFormat is "any", of a username that an account other than a
// pending registration has.
var ErrUserNameTaken = Error{Code: Uniqueness, Detail: "This username is taken. Choose another one."}

// ErrRegistrationPassword is the answer to a confirmation whose password is
// not the one chosen at registration: nothing changes, and the link still
// works.
var ErrRegistrationPassword = Error{Code: Unauthorized, Detail: "This is not the password chosen when this account was registered. Type the password you chose when you registered. If you have forgotten it, register again for the same account (the same email address, or the same username where you chose one): that replaces the registration and sends you a new link."}

// RegistrationStore keeps what self-registration needs: the organization's
// settings and the hashes of confirmation tokens, each of which expires on its
// own and works once.
type RegistrationStore interface {
	// OrgSettings returns the organization's settings; an organization that
	// set nothing (or does not exist) has the zero settings.
	OrgSettings(ctx context.Context, org string) (OrgSettings, error)
	// PutConfirmation stores hash as the user's one confirmation token until
	// ttl passes, if the user's version is still version (else
	// [ErrVersionConflict]); [NotFound] if there is no user.
	PutConfirmation(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64) error
	// TakeMailTurn reports whether the public pages may email the user now,
	// and if so starts a window of every during which it reports false:
	// an account gets at most one such email per window, however many
	// addresses ask ([Onboarding.MailEvery]).
	TakeMailTurn(ctx context.Context, org, userID string, every time.Duration) (bool, error)
	// ConfirmationUser returns the id of the user a confirmation hash
	// belongs to, or [NotFound].
	ConfirmationUser(ctx context.Context, org, hash string) (string, error)
	// RedeemConfirmation atomically consumes the confirmation hash of u.ID
	// and writes u, if the user's version is still version
	// ([ErrVersionConflict]) and the token still exists ([NotFound]).
	RedeemConfirmation(ctx context.Context, org, hash string, u Resource, version int64) (Resource, error)
}

// Registration is the registration form as a customer filled it in.
type Registration struct {
	// UserName is the username the customer chose, where the organization's
	// userNameFormat is "any"; under "email" the userName is Email, and
	// UserName is not used.
	UserName string
	// Email is the address of the new account, where its confirmation link
	// goes: its primary email, and under userNameFormat "email" its userName.
	Email string
	// GivenName and FamilyName are the customer's first and last names.
	GivenName, FamilyName string
	// Password is the password they chose.
	Password Secret
}

// SelfRegistration reports whether org lets customers register themselves.
func (u *Users) SelfRegistration(ctx context.Context, org string) (bool, error) {
	if u.onboarding == nil {
		return false, nil
	}
	s, err := u.onboarding.Store.OrgSettings(ctx, org)
	if err != nil {
		return false, err
	}
	return s.SelfRegistration, nil
}

// userName is the userName of the account r registers, in an organization
// whose userNameFormat is format.
func (r Registration) userName(format string) string {
	if format == schemas.UserNameFormatAny {
		return strings.TrimSpace(r.UserName)
	}
	return strings.TrimSpace(r.Email)
}

// registrationFields are the fields of [CheckRegistration]'s problems, in
// the form's order.
var registrationFields = []string{"userName", "email", "givenName", "familyName", "password"}

// CheckRegistration checks a registration form of an organization whose
// userNameFormat is format before anything is stored: under "any" the
// username must follow the API's rule for a login; the email must be an
// address such as jane@example.com, both names given and at most
// [MaxNameLength] characters, and the password must pass
// [CheckPasswordPolicy] for the account. Each problem is a sentence for the
// customer, keyed by the form's field ("userName", "email", "givenName",
// "familyName", "password"); an empty map means the form is acceptable.
func CheckRegistration(r Registration, format string) map[string]string {
	problems := map[string]string{}
	email := strings.TrimSpace(r.Email)
	if format == schemas.UserNameFormatAny {
		switch name := r.userName(format); {
		case name == "":
			problems["userName"] = "Choose a username."
		case anyUserNameProblem(name) != "":
			problems["userName"] = "Choose another username: this one " + anyUserNameProblem(name) + "."
		}
	}
	if email == "" {
		problems["email"] = "Enter your email address."
	} else if p := emailProblem(email); p != "" {
		problems["email"] = "Enter an email address such as jane@example.com: this one " + p + "."
	}
	for field, v := range map[string]string{"givenName": r.GivenName, "familyName": r.FamilyName} {
		what := "first"
		if field == "familyName" {
			what = "last"
		}
		switch v = strings.TrimSpace(v); {
		case v == "":
			problems[field] = "Enter your " + what + " name."
		case utf8.RuneCountInString(v) > MaxNameLength:
			problems[field] = fmt.Sprintf("Your %s name must be at most %d characters long.", what, MaxNameLength)
		case strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }):
			problems[field] = "Your " + what + " name must not contain control characters."
		}
	}
	if p := PasswordProblem(r.Password, r.userName(format), r.guessable(format)...); p != "" {
		problems["password"] = "Your password " + p + "."
	}
	return problems
}

// RegistrationPasswordProblems is every problem of the password of r, a
// registration in an organization whose userNameFormat is format
// ([PasswordProblems] for the account it would create).
func RegistrationPasswordProblems(r Registration, format string) []string {
	return PasswordProblems(r.Password, r.userName(format), r.guessable(format)...)
}

// guessable are what a password of r must not be made of besides its
// userName: the names, and under userNameFormat "any" the email address.
func (r Registration) guessable(format string) []string {
	names := []string{r.GivenName, r.FamilyName}
	if format == schemas.UserNameFormatAny {
		email := strings.TrimSpace(r.Email)
		local, _, _ := strings.Cut(email, "@")
		names = append(names, email, local)
	}
	return names
}

// Register handles a registration form of org. It is [ErrRegistrationClosed]
// unless the organization allows self-registration, and [InvalidValue] when
// [CheckRegistration] finds a problem; otherwise it returns nil, whatever
// happened, so that the answer (and, as far as possible, its timing) never
// tells whether the email already had an account:
//
//   - a new email: the account is created as an administrator's create would
//     be (same uniqueness and email rules, audited with actor
//     [RegistrationActor]), in accountState pendingConfirmation with the
//     chosen password stored, and a confirmation link is emailed;
//   - an email whose registration waits for confirmation: the registration
//     is replaced in place (names, password hash) and a new link is emailed,
//     which revokes the previous one; the account keeps its id;
//   - an email with any other account: nothing is created or changed, and
//     the address is told that someone tried to register with it (an email
//     that grants nothing, and says what the owner can do given the account's
//     state);
//   - under userNameFormat "any", the same cases by username: a new one is
//     created with the address as its primary email, one whose registration
//     waits for confirmation is replaced (its email too), and one with any
//     other account is [ErrUserNameTaken], changing nothing;
//   - an existing account (pending or not) emailed by the public pages
//     within [Onboarding.MailEvery]: nothing is sent or changed;
//   - the email cannot be sent: the failure is logged (never the link), and
//     the account stays unconfirmed until it is registered again.
//
// Other errors are the store failing.
func (u *Users) Register(ctx context.Context, org string, r Registration) error {
	if u.onboarding == nil {
		return ErrRegistrationClosed
	}
	settings, err := u.onboarding.Store.OrgSettings(ctx, org)
	if err != nil {
		return err
	}
	if !settings.SelfRegistration {
		return ErrRegistrationClosed
	}
	format := settings.UserNameRule()
	r.UserName, r.Email = strings.TrimSpace(r.UserName), strings.TrimSpace(r.Email)
	r.GivenName, r.FamilyName = strings.TrimSpace(r.GivenName), strings.TrimSpace(r.FamilyName)
	if problems := CheckRegistration(r, format); len(problems) > 0 {
		for _, f := range registrationFields {
			if p, ok := problems[f]; ok {
				return Errorf(InvalidValue, "%s", p)
			}
		}
	}
	name := r.userName(format)
	// Hash first, whether or not the account will be written: every answer
	// then costs one argon2id run.
	hash := HashPassword(r.Password)
	ctx = WithActor(ctx, RegistrationActor)

	busy := Errorf(Conflict, "this email address is being registered by other requests at the same time; try again")
	turns := mailTurns{o: u.onboarding}
	return retryWrites(ctx, busy, func() error {
		cur, found, err := u.findByUserName(ctx, org, name)
		if err != nil {
			return err
		}
		var res Resource
		switch {
		case !found:
			res, err = u.createRegistration(ctx, org, r, format, hash)
		case format == schemas.UserNameFormatAny && !pendingConfirmation(cur):
			return ErrUserNameTaken
		default:
			// An existing account is emailed once per MailEvery: within
			// it, nothing changes (a pending registration keeps the link
			// it was sent, which a replacement would end).
			if ok, err := turns.take(ctx, org, cur.ID); !ok {
				return err
			}
			if !pendingConfirmation(cur) {
				return u.tellRegistered(ctx, org, cur)
			}
			res, err = u.replaceRegistration(ctx, org, cur, r, format, hash)
		}
		if err == nil {
			if !found {
				// A new account's email starts its window (taken already
				// when a registration racing this one emailed it).
				if ok, err := turns.take(ctx, org, res.ID); !ok {
					return err
				}
			}
			u.issueConfirmation(ctx, org, res, format)
			return nil
		}
		// Lost a race: the email was registered (or created) meanwhile, or
		// the registration changed or was deleted. Look again.
		if ErrorCode(err) == Uniqueness || ErrorCode(err) == NotFound {
			return errRetry
		}
		return lostRace(err)
	})
}

// createRegistration creates the account of a registration of a new
// userName in an organization whose userNameFormat is format, waiting for
// confirmation with the chosen password's hash.
func (u *Users) createRegistration(ctx context.Context, org string, r Registration, format, hash string) (Resource, error) {
	raw := map[string]any{
		"schemas":  []any{schemas.UserURN},
		"userName": r.userName(format),
		"name":     map[string]any{"givenName": r.GivenName, "familyName": r.FamilyName},
	}
	if format == schemas.UserNameFormatAny {
		raw["emails"] = registrationEmails(r)
	}
	b, err := normalize(u.rt, raw)
	if err != nil {
		return Resource{}, err
	}
	rt, err := u.TypeFor(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	w, err := u.prepare(b, nil, userRules{rt: rt, format: format})
	if err != nil {
		return Resource{}, err
	}
	w.PasswordHash = hash
	stampAccountState(b.attrs, schemas.AccountStatePendingConfirmation)
	return u.store.CreateUser(ctx, org, Resource{Attributes: b.attrs}, w)
}

// registrationEmails is the emails of the account of r, where userNames are
// not addresses: the address typed, primary.
func registrationEmails(r Registration) []any {
	return []any{map[string]any{"value": r.Email, "primary": true}}
}

// replaceRegistration writes a new registration of the same userName over
// cur, a registration still waiting for confirmation: the names and password
// hash are the new ones (and, under userNameFormat "any", the email, where
// the new link goes), everything else (id, groups an administrator added)
// stays. It fails with [ErrVersionConflict] if cur changed meanwhile.
func (u *Users) replaceRegistration(ctx context.Context, org string, cur Resource, r Registration, format, hash string) (Resource, error) {
	next := Resource{ID: cur.ID, Attributes: cloneMap(cur.Attributes)}
	next.Attributes["name"] = map[string]any{"givenName": r.GivenName, "familyName": r.FamilyName}
	if format == schemas.UserNameFormatAny {
		next.Attributes["emails"] = registrationEmails(r)
	}
	rt, err := u.TypeFor(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	w, err := u.prepare(body{attrs: next.Attributes}, &cur, userRules{rt: rt})
	if err != nil {
		return Resource{}, err
	}
	w.PasswordHash = hash
	return u.store.ReplaceUser(ctx, org, next, cur.Version, w)
}

// issueConfirmation stores a new confirmation token for res, a registration
// just written (revoking the one it had), and emails its link to its address
// (mailAddress under the organization's userNameFormat, format). Failures
// are logged: the form's answer must not depend on them, and registering
// again issues another link.
func (u *Users) issueConfirmation(ctx context.Context, org string, res Resource, format string) {
	token := newSecret()
	ttl := u.onboarding.ConfirmTTL
	if err := u.onboarding.Store.PutConfirmation(WithAction(ctx, ActionRegister), org, res.ID, HashToken(token), ttl, res.Version); err != nil {
		// Changed meanwhile (registered again: that registration's link
		// wins), or the store failed.
		u.onboarding.Log.ErrorContext(ctx, "registration confirmation not issued", "org", org, "resource_id", res.ID, "err", err)
		return
	}
	to := mailAddress(res, format)
	n := RegistrationConfirmation{Org: org, Email: to, UserName: loginUnlessAddress(res, to), Token: token, Expires: time.Now().Add(ttl)}
	u.notifyRegistration(ctx, org, res.ID, "registration confirmation email not sent", n, token.Reveal())
}

// tellRegistered emails the owner of cur, an account that is not a pending
// registration, that someone tried to register its address.
func (u *Users) tellRegistered(ctx context.Context, org string, cur Resource) error {
	hash, err := u.store.PasswordHash(ctx, org, cur.ID)
	if err != nil {
		return err
	}
	n := AlreadyRegistered{Org: org, Email: stringAttr(cur.Attributes, "userName"), Account: registeredAccount(cur, hash != "")}
	u.notifyRegistration(ctx, org, cur.ID, "registration attempt email not sent", n)
	return nil
}

// registeredAccount is how the owner of cur, an account that is not a
// pending registration, can use it: an invitation to accept, a temporary
// password to replace, a password to sign in with, or none yet (hasPassword
// false).
func registeredAccount(cur Resource, hasPassword bool) RegisteredAccount {
	switch state := accountState(cur); {
	case invited(cur):
		return AccountInvited
	case state == schemas.AccountStatePasswordChangeRequired && hasPassword:
		return AccountTemporaryPassword
	case state == schemas.AccountStateActive && hasPassword:
		return AccountWithPassword
	}
	return AccountWithoutPassword
}

// notifyRegistration sends a registration notice, logging (never
// returning) a failure: the form's answer must not depend on it. The log
// carries the user id, and secrets (the link's token) are cut out of the
// error.
func (u *Users) notifyRegistration(ctx context.Context, org, userID, failure string, n Notice, secrets ...string) {
	o := u.onboarding
	err := o.Notifier.Notify(context.WithoutCancel(ctx), n)
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "REDACTED")
	}
	o.Log.ErrorContext(ctx, failure, "org", org, "resource_id", userID, "err", msg)
}

// pendingConfirmation reports whether an account waits for its customer to
// confirm their registration.
func pendingConfirmation(r Resource) bool {
	return accountState(r) == schemas.AccountStatePendingConfirmation
}

// Confirmation returns the account a confirmation token of org is for, if
// self-registration is on, the token is usable and the account still waits
// for it; else [ErrRegistrationClosed] or [ErrInvalidConfirmation]. It
// changes nothing (a GET of the emailed link calls it, and mail scanners
// fetch links).
func (u *Users) Confirmation(ctx context.Context, org string, token Secret) (Resource, error) {
	on, err := u.SelfRegistration(ctx, org)
	if err != nil {
		return Resource{}, err
	}
	if !on {
		return Resource{}, ErrRegistrationClosed
	}
	if token == "" {
		return Resource{}, ErrInvalidConfirmation
	}
	return u.tokenAccount(ctx, org, token, u.onboarding.Store.ConfirmationUser, pendingConfirmation, ErrInvalidConfirmation)
}

// ConfirmRegistration makes the account a confirmation token of org is for
// active, consuming the token: it works once. password must be the one
// chosen at registration, else it is [ErrRegistrationPassword] and the token
// still works: the token proves that the address receives the mail, the
// password that the person confirming is the one who registered. The token
// is checked, burnt and the account written in one store call, which fails
// if the account changed since it was read and its password checked (then it
// is read and checked again). Every unusable token is
// [ErrInvalidConfirmation] (or [ErrRegistrationClosed] while the organization
// does not allow self-registration), and then nothing changes. The change log
// records a "confirm" by the customer.
func (u *Users) ConfirmRegistration(ctx context.Context, org string, token, password Secret) (Resource, error) {
	hash := HashToken(token)
	return u.activate(ctx, ErrInvalidConfirmation,
		func() (Resource, error) { return u.Confirmation(ctx, org, token) },
		func(cur Resource) (UserWrite, error) {
			// Read after cur: the version check of the write below covers
			// it, since every password write changes the version.
			stored, err := u.store.PasswordHash(ctx, org, cur.ID)
			if err != nil {
				return UserWrite{}, err
			}
			verifyAgainst := stored
			if verifyAgainst == "" {
				verifyAgainst = dummyHash()
			}
			if !VerifyPassword(verifyAgainst, password) || stored == "" {
				return UserWrite{}, ErrRegistrationPassword
			}
			return UserWrite{}, nil // the password is the one set at registration
		},
		func(ctx context.Context, next Resource, version int64, _ UserWrite) (Resource, error) {
			return u.onboarding.Store.RedeemConfirmation(WithAction(ctx, ActionConfirm), org, hash, next, version)
		})
}
