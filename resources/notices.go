package resources

import (
	"context"
	"sync"
	"time"
)

// Notices are what the services tell people by email: they say what
// happened (an invitation with this token for this address), and a
// [Notifier] (package scim/notify) turns them into mail with the pages'
// links. Their tokens are secrets: a notice is never logged.

// Notifier tells the person a notice is for what happened, by email.
type Notifier interface {
	// Notify delivers n, or reports why it could not. Its error never quotes
	// the notice's token or the message.
	Notify(ctx context.Context, n Notice) error
}

// Notice is one of [Invitation], [PasswordReset], [RegistrationConfirmation],
// [AlreadyRegistered] and [AdminInvitation].
type Notice interface{ notice() }

// Invitation tells a customer an administrator created their account: Token
// lets them choose their first password ([Users.AcceptInvitation]) until
// Expires.
type Invitation struct {
	// Org is the customer's organization; Email where the mail goes: the
	// account's userName, or under userNameFormat any its email address.
	Org, Email string
	// UserName is the account's userName when it is not Email (userNameFormat
	// any): the mail tells the customer what they sign in with. "" otherwise.
	UserName string
	// Name is what the customer is called (first name, else display name):
	// "" greets nobody by name.
	Name    string
	Token   Secret
	Expires time.Time
}

// PasswordReset gives a customer who has a password a link to choose a new
// one: Token, an invitation token ([Users.AcceptInvitation]), until
// Expires. Their password keeps working until they use it.
type PasswordReset struct {
	Org, Email string
	// UserName is as [Invitation]'s: the account's userName when it is not
	// Email, "" otherwise.
	UserName string
	Token    Secret
	Expires  time.Time
}

// RegistrationConfirmation asks a customer who registered themselves to
// confirm their address: Token ([Users.ConfirmRegistration]) until Expires.
// It greets nobody by name: whoever filled in the form may not own the
// address.
type RegistrationConfirmation struct {
	Org, Email string
	// UserName is as [Invitation]'s: the account's userName when it is not
	// Email, "" otherwise.
	UserName string
	Token    Secret
	Expires  time.Time
}

// AlreadyRegistered tells the owner of an address that someone tried to
// register it while it has an account; it grants nothing.
type AlreadyRegistered struct {
	Org, Email string
	// Account says how its owner can start using the account.
	Account RegisteredAccount
}

// RegisteredAccount is how the owner of an account someone tried to
// register can use it, which decides what [AlreadyRegistered] suggests.
type RegisteredAccount int

// What an [AlreadyRegistered] account waits for.
const (
	// AccountWithoutPassword has no password to sign in with yet: an
	// administrator must send a link.
	AccountWithoutPassword RegisteredAccount = iota
	// AccountInvited waits for its invitation to be accepted.
	AccountInvited
	// AccountTemporaryPassword signs in with the temporary password an
	// administrator gave, then chooses its own.
	AccountTemporaryPassword
	// AccountWithPassword signs in with its password.
	AccountWithPassword
)

// AdminInvitation tells someone they were made an administrator: Token
// lets them choose their password ([Admins.AcceptInvitation]) until Expires.
type AdminInvitation struct {
	Org, Email string
	// OrgName is the organization's display name, "" when it has none.
	OrgName string
	Role    Role
	Token   Secret
	Expires time.Time
}

func (Invitation) notice()               {}
func (PasswordReset) notice()            {}
func (RegistrationConfirmation) notice() {}
func (AlreadyRegistered) notice()        {}
func (AdminInvitation) notice()          {}

// HeldInvitations holds the first invitations of customers created under a
// context from [WithHeldInvitations], until Deliver sends them: for writes
// that may be undone (a /Bulk cycle deletes what it created when one of
// its operations fails), so that nobody is invited to an account that was
// never kept. A customer whose invitation is held is invitationNotDelivered
// until it is sent.
type HeldInvitations struct {
	mu    sync.Mutex
	sends []func(context.Context)
}

type heldKey struct{}

// WithHeldInvitations returns a context under which customers' first
// invitations are held, and what holds them.
func WithHeldInvitations(ctx context.Context) (context.Context, *HeldInvitations) {
	h := &HeldInvitations{}
	return context.WithValue(ctx, heldKey{}, h), h
}

func (h *HeldInvitations) add(send func(context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sends = append(h.sends, send)
}

// Deliver sends the held invitations, in the order they were held, on ctx
// (which must not be a context from [WithHeldInvitations]); a customer
// whose invitation cannot be sent becomes invitationNotDelivered, as at
// creation.
func (h *HeldInvitations) Deliver(ctx context.Context) {
	h.mu.Lock()
	sends := h.sends
	h.sends = nil
	h.mu.Unlock()
	for _, send := range sends {
		send(ctx)
	}
}
