package resources

import "context"

// CheckUserName reports why name cannot be a new customer's userName in an
// organization whose userNameFormat is format: a bare email address, or
// under "any" a PRECIS username (the rule [Users.Create] applies), so that a
// form can say so next to its field before anything is created.
func CheckUserName(name, format string) error { return checkUserName(name, format) }

// HasPassword reports whether the customer id has a password: whether
// [Users.ResendInvitation] would send them a password reset rather than an
// invitation (when their account is active or waiting for a password
// change). It never returns the hash.
func (u *Users) HasPassword(ctx context.Context, org, id string) (bool, error) {
	hash, err := u.store.PasswordHash(ctx, org, id)
	return hash != "", err
}
