package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

var _ resources.RegistrationStore = (*Store)(nil)

// Self-registration keeps, besides the user (see the package documentation
// for the key layout):
//
//	settings          HASH the organization's settings: selfRegistration "on" | "off", displayName,
//	                  onboarding "invite" | "none", userNameFormat "email" | "any" (see orgs.go)
//	confirm:<hash>    STRING userId, a registration's confirmation token; PX its lifetime
//	uconfirm:<userId> STRING hash of the user's one current confirmation, same PX
//	mailturn:<userId> STRING "1": the public pages emailed the user lately; PX the window
//
// Confirmation tokens are issued by the invitation script (issueInviteSrc)
// and redeemed by redeemSrc without a password: the token, the version check
// and the account state change together.

// Fields of an organization's settings hash.
const (
	settingSelfRegistration = "selfRegistration"
	settingDisplayName      = "displayName"
)

// setSettingSrc sets one field of an organization's settings ("" deletes it)
// and records the change, if it is one.
//
// KEYS: 1 settings. ARGV: 1 prefix, 2 field, 3 value, 4 actor, 5 now, 6
// change log cap.
// Returns {"ok", "1" if changed else "0"}.
const setSettingSrc = luaCommon + `
--@checked
local old = redis.call('HGET', KEYS[1], ARGV[2]) or ''
if old == ARGV[3] then return {'ok', '0'} end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
else
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
end
audit(ARGV[1], ARGV[6], ARGV[4], 'replace', 'Settings', ARGV[2], ARGV[5])
return {'ok', '1'}
`

// OrgSettings returns an organization's settings. An organization that never
// set one, or that does not exist, has the zero settings (self-registration
// off, no display name).
func (s *Store) OrgSettings(ctx context.Context, org string) (resources.OrgSettings, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.OrgSettings{}, nil
	}
	v, err := s.client.HMGet(ctx, p+"settings", settingSelfRegistration, settingDisplayName, settingOnboarding, settingUserNameFormat,
		settingSubstringSearch, settingSubstringSweep).Result()
	if err != nil {
		return resources.OrgSettings{}, fmt.Errorf("settings of %s: redis: %w", org, err)
	}
	on, _ := v[0].(string)
	name, _ := v[1].(string)
	onboarding, _ := v[2].(string)
	format, _ := v[3].(string)
	substr, _ := v[4].(string)
	sweep, _ := v[5].(string)
	st, _ := decodeSweep(sweep) // scimd check reports a broken one
	return resources.OrgSettings{SelfRegistration: on == "on", DisplayName: name, Onboarding: onboarding, UserNameFormat: format,
		SubstringSearch: substr, SubstringPending: strings.Join(st.Attrs, ",")}, nil
}

// SetSelfRegistration turns an organization's self-registration on or off and
// reports whether that changed it. A change is recorded in the change log
// (type Settings, id selfRegistration, action replace) by
// [resources.Actor](ctx). It does not check that the organization exists:
// callers do ([Store.OrgExists]).
func (s *Store) SetSelfRegistration(ctx context.Context, org string, on bool) (bool, error) {
	p, err := prefix(org)
	if err != nil {
		return false, fmt.Errorf("set self-registration of %s: %w", org, err)
	}
	v := "off"
	if on {
		v = "on"
	}
	changed, err := s.setOrgSetting(ctx, p, settingSelfRegistration, v)
	s.recent.forget(org)
	if err != nil {
		return false, fmt.Errorf("set self-registration of %s: %w", org, err)
	}
	return changed, nil
}

// SetOrgDisplayName sets an organization's display name; "" clears it. A
// change is recorded in the change log (type Settings, id displayName, action
// replace) by [resources.Actor](ctx); setting the name it has records
// nothing. The caller checks the name ([resources.Orgs.SetDisplayName]).
func (s *Store) SetOrgDisplayName(ctx context.Context, org, name string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("set display name of %s: %w", org, err)
	}
	_, err = s.setOrgSetting(ctx, p, settingDisplayName, name)
	s.recent.forget(org)
	if err != nil {
		return fmt.Errorf("set display name of %s: %w", org, err)
	}
	return nil
}

// setOrgSetting runs setSettingSrc and reports whether the field changed.
func (s *Store) setOrgSetting(ctx context.Context, p, field, value string) (bool, error) {
	_, ts := now()
	res, err := s.setSetting.Run(ctx, s, []string{p + "settings"}, p, field, value,
		resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	changed, _ := res[1].(string)
	return changed == "1", nil
}

// PutConfirmation stores hash as the user's confirmation token until ttl
// passes, if the user's version is still version (else
// [resources.ErrVersionConflict]), revoking the one it had. The change log
// records [resources.UpdateAction](ctx) (resources.ActionRegister from
// self-registration) by [resources.Actor](ctx).
func (s *Store) PutConfirmation(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64) error {
	if err := s.issueSecret(ctx, org, userID, hash, ttl, version, "confirm", resources.UpdateAction(ctx)); err != nil {
		return fmt.Errorf("put confirmation of %s: %w", userID, err)
	}
	return nil
}

// TakeMailTurn reports whether the public pages may email the user now:
// true when no window of theirs is open, and then it opens one of every
// (SET NX PX, one command: two requests never both get the turn).
func (s *Store) TakeMailTurn(ctx context.Context, org, userID string, every time.Duration) (bool, error) {
	p, err := prefix(org)
	if err != nil {
		return false, fmt.Errorf("mail turn of %s: %w", userID, err)
	}
	cmd := redis.NewStatusCmd(ctx, "set", p+"mailturn:"+userID, "1", "nx", "px", max(every.Milliseconds(), 1))
	switch err := s.write(ctx, cmd); {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("mail turn of %s: redis: %w", userID, err)
	}
	return true, nil
}

// ConfirmationUser returns the id of the user whose confirmation token has
// hash, or [resources.NotFound]: never issued, used, replaced or expired.
func (s *Store) ConfirmationUser(ctx context.Context, org, hash string) (string, error) {
	return s.secretUser(ctx, org, "confirm:", hash)
}

// HasConfirmation reports whether the user has a confirmation token that has
// not expired.
func (s *Store) HasConfirmation(ctx context.Context, org, userID string) (bool, error) {
	p, err := prefix(org)
	if err != nil {
		return false, nil
	}
	n, err := s.client.Exists(ctx, p+"uconfirm:"+userID).Result()
	if err != nil {
		return false, fmt.Errorf("confirmation of %s: redis: %w", userID, err)
	}
	return n == 1, nil
}

// RedeemConfirmation writes u (its document; the password is kept) if the
// confirmation hash still belongs to u.ID and the user's version is still
// version, and deletes the token: it works once. It fails with
// [resources.NotFound] when the token is gone and with
// [resources.ErrVersionConflict] when the user changed. The change log
// records [resources.UpdateAction](ctx) by [resources.Actor](ctx).
func (s *Store) RedeemConfirmation(ctx context.Context, org, hash string, u resources.Resource, version int64) (resources.Resource, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem confirmation of %s: %w", u.ID, err)
	}
	out, err := s.redeem(ctx, p, p+"confirm:"+hash, p+"uconfirm:"+u.ID, u, version, resources.UserWrite{}, true)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem confirmation of %s: %w", u.ID, err)
	}
	return out, nil
}
