package resources

import (
	"context"
	"errors"
)

// RequestPasswordReset handles a customer's "forgot password" form for the
// address email of org. If email is the userName of an enabled account that
// has a password to replace (accountState active or
// passwordChangeRequired), the account is emailed a password-reset link: the
// one [Users.ResendInvitation] sends an account with a password, single use,
// expiring after [Onboarding.InviteTTL], revoking the link sent before, and
// ending with any password change, disabling or deletion, sent where all of
// its mail goes (see mailAddress: its emails when the organization's
// userNames are not addresses; no address, no link). Its password keeps
// working until the link is used.
//
// An account is emailed at most once per [Onboarding.MailEvery] from the
// public pages: a request within it sends nothing, and the link sent stays
// good.
//
// Any other address (unknown, disabled, waiting for an invitation or a
// confirmation, without a password) gets nothing and the answer is nil as
// well: the caller's answer must not tell which addresses have accounts.
// An account waiting for its invitation gets no new one here: it has no
// password to forget, and an administrator resends invitations.
//
// Errors are the store failing or the email not being sent ([Unavailable]);
// they are the server's to log, not the visitor's to see.
func (u *Users) RequestPasswordReset(ctx context.Context, org, email string) error {
	if u.onboarding == nil {
		return errors.New("request password reset: onboarding is not configured")
	}
	turns := mailTurns{o: u.onboarding}
	return retryWrites(ctx, Errorf(Conflict, "the account is being changed by other requests at the same time; retry"), func() error {
		cur, found, err := u.findByUserName(ctx, org, email)
		if err != nil || !found {
			return err
		}
		if active, _ := cur.Attributes["active"].(bool); !active || !passwordState(cur) {
			return nil
		}
		hash, err := u.store.PasswordHash(ctx, org, cur.ID)
		if err != nil || hash == "" {
			return err
		}
		settings, err := u.orgSettings(ctx, org)
		if err != nil {
			return err
		}
		to := mailAddress(cur, settings.UserNameRule())
		if to == "" {
			return nil // nowhere to send it; the answer is the same for every address
		}
		if ok, err := turns.take(ctx, org, cur.ID); !ok {
			return err // emailed a moment ago: that link stays good
		}
		_, err = u.sendPasswordReset(ctx, org, cur, to)
		return lostRace(err)
	})
}
