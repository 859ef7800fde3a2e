package resources

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Customers' sessions of the customer pages: after signing in, a customer
// sees their profile until they sign out or the session ends.

// CustomerSessionTTL is how long a customer's session of the customer pages
// lasts, however active: the pages show a profile, nothing to work in for
// long.
const CustomerSessionTTL = time.Hour

// CustomerSession is a signed-in customer's server-side session. The browser
// holds only its secret; the store keeps the secret's hash.
type CustomerSession struct {
	// UserID is whose session it is.
	UserID string
	// PasswordStamp is a digest of the user's [UserStore.SignInStamp] when
	// the customer signed in (the password hash, and how often the account
	// was disabled): once the password changes (a reset, a temporary
	// password set by an administrator) or the account is disabled, the
	// session no longer works, even after the account is enabled again.
	PasswordStamp string
}

// CustomerSessionStore keeps customers' sessions, each of which expires on
// its own.
type CustomerSessionStore interface {
	// PutCustomerSession stores s under hash until ttl passes.
	PutCustomerSession(ctx context.Context, org, hash string, s CustomerSession, ttl time.Duration) error
	// CustomerSession returns the session stored under hash, or [NotFound].
	CustomerSession(ctx context.Context, org, hash string) (CustomerSession, error)
	// DeleteCustomerSession ends the session stored under hash; ending one
	// that does not exist is no error.
	DeleteCustomerSession(ctx context.Context, org, hash string) error
}

// ErrCustomerSignedOut is the answer to a customer session that is not (or
// no longer) usable: unknown, expired, ended, of another organization, or of
// an account that was deleted, disabled, or had its password changed since.
var ErrCustomerSignedOut = Error{Code: Unauthorized, Detail: "You are signed out. Sign in again to see your account."}

// CustomerSessions starts, finds and ends customers' sessions of the
// customer pages.
type CustomerSessions struct {
	store CustomerSessionStore
	users *Users
}

// NewCustomerSessions returns the sessions of the customers of users, kept
// in store.
func NewCustomerSessions(store CustomerSessionStore, users *Users) *CustomerSessions {
	return &CustomerSessions{store: store, users: users}
}

// Start starts a session for self, a customer who just signed in
// ([Users.Authenticate]), and returns its secret, for the browser to keep.
func (s *CustomerSessions) Start(ctx context.Context, org string, self Resource) (Secret, error) {
	// The stamp is read before the account, which must still be the one
	// whose password was checked: a disable or a new password in between
	// (each a new version) changed the stamp, and the session would be
	// bound to the new one, working again once the account is enabled.
	stamp, err := s.passwordStamp(ctx, org, self.ID)
	if err != nil {
		return "", err
	}
	cur, err := s.users.store.GetUser(ctx, org, self.ID)
	if ErrorCode(err) == NotFound {
		return "", ErrCustomerSignedOut
	}
	if err != nil {
		return "", err
	}
	if !maySignIn(cur) || cur.Version != self.Version || stamp == "" {
		return "", ErrCustomerSignedOut
	}
	secret := newSecret()
	if err := s.store.PutCustomerSession(ctx, org, HashToken(secret), CustomerSession{UserID: self.ID, PasswordStamp: stamp}, CustomerSessionTTL); err != nil {
		return "", err
	}
	return secret, nil
}

// User returns the customer signed in with the session secret, read afresh,
// or [ErrCustomerSignedOut]: also when the account was deleted, may no
// longer sign in ([Users.Authenticate]'s rules) or has another password than
// the one it signed in with. Such a session is ended.
func (s *CustomerSessions) User(ctx context.Context, org string, secret Secret) (Resource, error) {
	if secret == "" {
		return Resource{}, ErrCustomerSignedOut
	}
	hash := HashToken(secret)
	sess, err := s.store.CustomerSession(ctx, org, hash)
	if ErrorCode(err) == NotFound {
		return Resource{}, ErrCustomerSignedOut
	}
	if err != nil {
		return Resource{}, err
	}
	u, err := s.users.store.GetUser(ctx, org, sess.UserID)
	if err != nil && ErrorCode(err) != NotFound {
		return Resource{}, err
	}
	stamp := ""
	if err == nil {
		if stamp, err = s.passwordStamp(ctx, org, u.ID); err != nil {
			return Resource{}, err
		}
	}
	if stamp == "" || stamp != sess.PasswordStamp || !maySignIn(u) {
		if err := s.store.DeleteCustomerSession(ctx, org, hash); err != nil {
			return Resource{}, err
		}
		return Resource{}, ErrCustomerSignedOut
	}
	return u, nil
}

// End ends the session of secret (signing out); ending one that does not
// exist is no error.
func (s *CustomerSessions) End(ctx context.Context, org string, secret Secret) error {
	if secret == "" {
		return nil
	}
	return s.store.DeleteCustomerSession(ctx, org, HashToken(secret))
}

// passwordStamp is the [CustomerSession.PasswordStamp] of the user's
// current password and disables ([UserStore.SignInStamp]), "" when they
// have no password. It is a digest, so the session never holds the hash
// itself.
func (s *CustomerSessions) passwordStamp(ctx context.Context, org, id string) (string, error) {
	hash, err := s.users.store.SignInStamp(ctx, org, id)
	if err != nil {
		return "", fmt.Errorf("customer session of %s: %w", id, err)
	}
	if strings.TrimSpace(hash) == "" {
		return "", nil
	}
	return HashToken(Secret(hash))[:32], nil
}
