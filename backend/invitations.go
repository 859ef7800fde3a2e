package backend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

var _ resources.OnboardingStore = (*Store)(nil)

// Onboarding secrets: invitations and password-change tickets are random
// tokens of which the store keeps only the hash (resources.HashToken), as
// keys that expire on their own (PEXPIRE):
//
//	invite:<hash>     STRING userId, the invitation; PX its time to live
//	uinvite:<userId>  STRING hash of the user's one current invitation, same PX
//	ticket:<hash>     STRING userId, a password-change ticket; PX its time to live
//	confirm:<hash>    STRING userId, a self-registration's confirmation; PX its time to live
//	uconfirm:<userId> STRING hash of the user's one current confirmation, same PX
//
// A new invitation for a user deletes the one uinvite names (a resend revokes
// the link sent before), in the script that stores it; confirmations work the
// same way. Redeeming an invitation, a ticket or a confirmation deletes it in
// the script that writes the account, so it works once. A user write with
// resources.UserWrite.EndLinks (a new password, a disable) and a user's
// deletion delete the user's invitation and confirmation in their script.

// issueInviteSrc stores a new invitation (or self-registration
// confirmation) for a user whose version is still the one the caller checked
// (so its account is still waiting for one), revoking the user's previous one.
//
// KEYS: 1 user, 2 user's current secret (uinvite:<userId> or
// uconfirm:<userId>), 3 new secret (invite:<hash> or confirm:<hash>).
// ARGV: 1 prefix, 2 id, 3 hash, 4 time to live (ms), 5 expected version, 6
// actor, 7 now, 8 change log cap, 9 the secrets' key segment ("invite:" or
// "confirm:"), 10 the change log action.
// Returns {"ok"} or {marker}.
const issueInviteSrc = luaCommon + `
local prefix, id = ARGV[1], ARGV[2]
local ver = redis.call('HGET', KEYS[1], 'ver')
if not ver then return {'notfound'} end
if userVersion(prefix, id, ver) ~= tonumber(ARGV[5]) then return {'conflict'} end
--@checked
local old = redis.call('GET', KEYS[2])
if old then redis.call('DEL', prefix .. ARGV[9] .. old) end
redis.call('SET', KEYS[3], id, 'PX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
audit(prefix, ARGV[8], ARGV[6], ARGV[10], 'User', id, ARGV[7])
return {'ok'}
`

// redeemSrc consumes a single-use secret (an invitation, a ticket or a
// self-registration confirmation) that still names the user, and writes the
// user's document and password hash if its version is still the one the
// caller read: the secret, the password and the account state change together
// or not at all. A new password also ends the user's other emailed links
// (endLinks), as every write of a password does.
//
// KEYS: 1 user, 2 password, 3 the secret (invite:<hash>, ticket:<hash> or
// confirm:<hash>), 4 a key deleted with it (uinvite:<userId> for an
// invitation, uconfirm:<userId> for a confirmation).
// ARGV: 1 prefix, 2 id, 3 expected version, 4 doc, 5 now, 6 password hash (""
// keeps the password: a confirmation), 7 index entries (JSON), 8 actor, 9
// action, 10 change log cap, 11 the generation of the organization's User
// type the entries were computed under (see writeUserSrc), 12 its active
// (as writeUserSrc's ARGV 16).
// Returns {"ok", version, created} or {marker}.
const redeemSrc = luaCommon + `
local prefix, id, expect, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[5]
if (redis.call('GET', prefix .. 'exts:gen') or '0') ~= ARGV[11] then return {'stale'} end
-- The secret names the user: "<id>", or "<id> <version>" for a ticket.
local owner = redis.call('GET', KEYS[3])
if not owner or (owner ~= id and string.sub(owner, 1, #id + 1) ~= id .. ' ') then return {'notoken'} end
local cur = readHash(KEYS[1])
local extra = 0
if cur.ver then extra = userGroups(prefix, id) end
local fault = versionFault(cur.ver and tonumber(cur.ver) + extra, expect)
if fault then return {fault} end
local new = cjson.decode(ARGV[7])
local old = storedEntries(cur)
--@checked
setIndex(prefix, 'user', id, old, new)
updateActive(prefix, id, ARGV[12])
local ver = touch(prefix, 'user', id, now) + extra
writeDoc(KEYS[1], cur, ARGV[4], new, cur.disp or '', {})
redis.call('DEL', KEYS[3], KEYS[4])
-- A new password ends the links sent for the one it replaces (a reset
-- link, when a temporary password is replaced), as every write of one does.
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], ARGV[6])
  endLinks(prefix, id)
end
audit(prefix, ARGV[10], ARGV[8], ARGV[9], 'User', id, now)
return {'ok', ver, cur.created}
`

// PutInvitation stores hash as the user's invitation until ttl passes, if
// the user's version is still version (else [resources.ErrVersionConflict]),
// and revokes the invitation it had before. The change log records an
// "invite" by [resources.Actor](ctx).
func (s *Store) PutInvitation(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64) error {
	if err := s.issueSecret(ctx, org, userID, hash, ttl, version, "invite", resources.ActionInvite); err != nil {
		return fmt.Errorf("put invitation of %s: %w", userID, err)
	}
	return nil
}

// issueSecret runs issueInviteSrc for kind "invite" (keys invite:<hash> and
// uinvite:<userId>) or "confirm" (confirm:<hash> and uconfirm:<userId>).
func (s *Store) issueSecret(ctx context.Context, org, userID, hash string, ttl time.Duration, version int64, kind string, action resources.Action) error {
	p, err := prefix(org)
	if err != nil {
		return err
	}
	_, ts := now()
	keys := []string{p + "user:" + userID, p + "u" + kind + ":" + userID, p + kind + ":" + hash}
	res, err := s.issueInvite.Run(ctx, s, keys, p, userID, hash, ttl.Milliseconds(), version,
		resources.Actor(ctx), ts, s.MaxChanges, kind+":", string(action)).Slice()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return s.users.checkMarker(res, userID, "")
}

// InvitationUser returns the id of the user whose invitation has hash, or
// [resources.NotFound] when there is none: never issued, used, revoked by a
// newer one, or expired.
func (s *Store) InvitationUser(ctx context.Context, org, hash string) (string, error) {
	return s.secretUser(ctx, org, "invite:", hash)
}

// RedeemInvitation writes u (its document, and w's password hash) if the
// invitation hash still belongs to u.ID and the user's version is still
// version, and deletes the invitation: it works once. It fails with
// [resources.NotFound] when the invitation is gone and with
// [resources.ErrVersionConflict] when the user changed.
func (s *Store) RedeemInvitation(ctx context.Context, org, hash string, u resources.Resource, version int64, w resources.UserWrite) (resources.Resource, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem invitation of %s: %w", u.ID, err)
	}
	out, err := s.redeem(ctx, p, p+"invite:"+hash, p+"uinvite:"+u.ID, u, version, w, false)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem invitation of %s: %w", u.ID, err)
	}
	return out, nil
}

// PutTicket stores hash as a password-change ticket of the user, issued for
// the password of stamp, until ttl passes.
func (s *Store) PutTicket(ctx context.Context, org, userID string, stamp int64, hash string, ttl time.Duration) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("put ticket of %s: %w", userID, err)
	}
	if err := s.setPX(ctx, p+"ticket:"+hash, userID+" "+strconv.FormatInt(stamp, 10), ttl); err != nil {
		return fmt.Errorf("put ticket of %s: redis: %w", userID, err)
	}
	return nil
}

// TicketUser returns the id of the user whose password-change ticket has
// hash and the stamp of the password it was issued for, or
// [resources.NotFound].
func (s *Store) TicketUser(ctx context.Context, org, hash string) (string, int64, error) {
	v, err := s.secretUser(ctx, org, "ticket:", hash)
	if err != nil {
		return "", 0, err
	}
	id, stamp, _ := strings.Cut(v, " ")
	n, _ := strconv.ParseInt(stamp, 10, 64)
	return id, n, nil
}

// RedeemTicket writes u as [Store.RedeemInvitation] does, consuming the
// password-change ticket hash instead of an invitation.
func (s *Store) RedeemTicket(ctx context.Context, org, hash string, u resources.Resource, version int64, w resources.UserWrite) (resources.Resource, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem ticket of %s: %w", u.ID, err)
	}
	key := p + "ticket:" + hash
	out, err := s.redeem(ctx, p, key, key, u, version, w, false)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redeem ticket of %s: %w", u.ID, err)
	}
	return out, nil
}

func (s *Store) secretUser(ctx context.Context, org, kind, hash string) (string, error) {
	p, err := prefix(org)
	if err != nil {
		return "", resources.Errorf(resources.NotFound, "not found")
	}
	id, err := s.client.Get(ctx, p+kind+hash).Result()
	if errors.Is(err, redis.Nil) {
		return "", resources.Errorf(resources.NotFound, "not found")
	}
	if err != nil {
		return "", fmt.Errorf("read %s: redis: %w", kind[:len(kind)-1], err)
	}
	return id, nil
}

// redeem runs redeemSrc. Only a confirmation (confirm true) may leave the
// password as it is.
func (s *Store) redeem(ctx context.Context, p, secretKey, alsoKey string, u resources.Resource, version int64, w resources.UserWrite, confirm bool) (resources.Resource, error) {
	if w.PasswordHash == "" && !confirm {
		return resources.Resource{}, errors.New("no password hash")
	}
	doc, err := resources.MarshalJSON(u.Attributes)
	if err != nil {
		return resources.Resource{}, fmt.Errorf("encode document: %w", err)
	}
	w, err = s.typed(ctx, p, w)
	if err != nil {
		return resources.Resource{}, err
	}
	k := s.users.forType(&schemas.ResourceType{Custom: w.Custom})
	t, ts := now()
	keys := []string{p + "user:" + u.ID, p + "pw:" + u.ID, secretKey, alsoKey}
	res, err := s.redeemScript.Run(ctx, s, keys, p, u.ID, version, doc, ts, w.PasswordHash,
		k.indexEntries(u.Attributes), resources.Actor(ctx), string(resources.UpdateAction(ctx)), s.MaxChanges,
		strconv.FormatInt(w.Custom.Generation, 10), activeState(u.Attributes)).Slice()
	if err != nil {
		return resources.Resource{}, fmt.Errorf("redis: %w", err)
	}
	if marker, _ := res[0].(string); marker == "notoken" {
		return resources.Resource{}, resources.Errorf(resources.NotFound, "not found")
	}
	if err := s.users.checkMarker(res, u.ID, ""); err != nil {
		return resources.Resource{}, err
	}
	out := resources.Resource{ID: u.ID, Attributes: u.Attributes, Raw: doc, Modified: t}
	out.Version, _ = res[1].(int64)
	out.Created = parseTime(res[2])
	return out, nil
}
