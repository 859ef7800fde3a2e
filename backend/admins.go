package backend

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scimd/scimd/resources"
)

var _ resources.AdminStore = (*Store)(nil)

// Administrators of the console, their single-use links and their sessions
// (keys relative to the organization's prefix):
//
//	admin:<id>             HASH email, uk (lowercase email), role, created, pw (password hash; absent: none yet)
//	admins                 HASH lowercase email -> id (emails unique per organization, ignoring case)
//	owners                 SET ids of the administrators whose role is owner
//	adminlink:<hash>       HASH admin (id), kind (invite | signin); PX its lifetime
//	adminlinks:<id>        SET hashes of the administrator's links (members may have expired)
//	session:<hash>         HASH admin (id), created, csrf; PX the idle timeout, renewed on use
//	adminsessions:<id>     SET hashes of the administrator's sessions (members may have expired)
//
// The password hash is a field of the administrator's hash that no read of
// an administrator returns: only [Store.AdminPasswordHash] reads it. The
// owners set makes the last-owner rule one SCARD in the script of the change
// that would break it. Links and sessions expire on their own; the
// per-administrator sets let a removal or a password change end them all, and
// lose their expired members when a link or session is added (so they stay
// as small as the live ones). Changes of administrators are recorded in the
// change log as type Administrator with the administrator's id: create,
// replace (a role), delete, setPassword, invite (a link issued). Sessions,
// sign-ins and sign-outs are not changes and are not recorded.

// luaAdmin is prepended to the administrators' scripts.
const luaAdmin = `
-- adminFields returns an administrator's public fields {id, email, role,
-- created, "1" if they have a password else "0"}, or nil; never the hash.
local function adminFields(prefix, id)
  local a = redis.call('HMGET', prefix .. 'admin:' .. id, 'email', 'role', 'created', 'pw')
  if not a[1] then return nil end
  local haspw = '0'
  if a[4] and a[4] ~= '' then haspw = '1' end
  return {id, a[1], a[2], a[3], haspw}
end

-- endAll deletes the links or sessions (keys prefix .. seg .. member) of the
-- set of administrator id, except keep, and removes them from the set.
local function endAll(prefix, set, seg, id, keep)
  for _, h in ipairs(redis.call('SMEMBERS', set)) do
    if h ~= keep then
      local key = prefix .. seg .. h
      if redis.call('HGET', key, 'admin') == id then redis.call('DEL', key) end
      redis.call('SREM', set, h)
    end
  end
end

-- prune removes the members of set whose key (prefix .. seg .. member) expired.
local function prune(prefix, set, seg)
  for _, h in ipairs(redis.call('SMEMBERS', set)) do
    if redis.call('EXISTS', prefix .. seg .. h) == 0 then redis.call('SREM', set, h) end
  end
end

-- startSession stores session hash of administrator id, expiring after idle
-- milliseconds unused.
local function startSession(prefix, id, hash, created, csrf, idle)
  local set = prefix .. 'adminsessions:' .. id
  local key = prefix .. 'session:' .. hash
  prune(prefix, set, 'session:')
  redis.call('DEL', key)
  redis.call('HSET', key, 'admin', id, 'created', created, 'csrf', csrf)
  redis.call('PEXPIRE', key, idle)
  redis.call('SADD', set, hash)
end
`

// readAdminsSrc reads administrators: one by id, one by lowercase email, or
// all.
//
// KEYS: 1 admins. ARGV: 1 prefix, 2 "id", "email" or "all", 3 the id or
// lowercase email.
// Returns a list of adminFields.
const readAdminsSrc = luaAdmin + `
local ids
if ARGV[2] == 'id' then
  ids = {ARGV[3]}
elseif ARGV[2] == 'email' then
  local id = redis.call('HGET', KEYS[1], ARGV[3])
  if not id then return {} end
  ids = {id}
else
  ids = redis.call('HVALS', KEYS[1])
end
local out = {}
for _, id in ipairs(ids) do
  local a = adminFields(ARGV[1], id)
  if a then out[#out + 1] = a end
end
return out
`

// createAdminSrc stores a new administrator.
//
// KEYS: 1 admins, 2 admin:<id>, 3 owners. ARGV: 1 prefix, 2 id, 3 lowercase
// email, 4 email, 5 role, 6 "1" if the role is owner, 7 now, 8 actor, 9
// change log cap.
// Returns {"ok"} or {marker}.
const createAdminSrc = luaCommon + `
local prefix, id = ARGV[1], ARGV[2]
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then return {'taken'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists'} end
--@checked
redis.call('HSET', KEYS[2], 'email', ARGV[4], 'uk', ARGV[3], 'role', ARGV[5], 'created', ARGV[7])
redis.call('HSET', KEYS[1], ARGV[3], id)
if ARGV[6] == '1' then redis.call('SADD', KEYS[3], id) end
audit(prefix, ARGV[9], ARGV[8], 'create', 'Administrator', id, ARGV[7])
return {'ok'}
`

// setAdminRoleSrc changes an administrator's role, unless that demotes the
// last owner. Setting the role they have changes and records nothing.
//
// KEYS: 1 admin:<id>, 2 owners. ARGV: 1 prefix, 2 id, 3 role, 4 "1" if the
// role is owner, 5 now, 6 actor, 7 action, 8 change log cap.
// Returns {"ok", adminFields} or {marker}.
const setAdminRoleSrc = luaCommon + luaAdmin + `
local prefix, id = ARGV[1], ARGV[2]
local cur = redis.call('HGET', KEYS[1], 'role')
if not cur then return {'notfound'} end
if cur == ARGV[3] then return {'ok', adminFields(prefix, id)} end
if ARGV[4] ~= '1' and redis.call('SISMEMBER', KEYS[2], id) == 1 and redis.call('SCARD', KEYS[2]) <= 1 then
  return {'lastowner'}
end
--@checked
redis.call('HSET', KEYS[1], 'role', ARGV[3])
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], id) else redis.call('SREM', KEYS[2], id) end
audit(prefix, ARGV[8], ARGV[6], ARGV[7], 'Administrator', id, ARGV[5])
return {'ok', adminFields(prefix, id)}
`

// deleteAdminSrc removes an administrator with their links and sessions,
// unless they are the last owner.
//
// KEYS: 1 admin:<id>, 2 admins, 3 owners, 4 adminlinks:<id>, 5
// adminsessions:<id>. ARGV: 1 prefix, 2 id, 3 now, 4 actor, 5 change log cap.
// Returns {"ok"} or {marker}.
const deleteAdminSrc = luaCommon + luaAdmin + `
local prefix, id = ARGV[1], ARGV[2]
local uk = redis.call('HGET', KEYS[1], 'uk')
if not uk then return {'notfound'} end
if redis.call('SISMEMBER', KEYS[3], id) == 1 and redis.call('SCARD', KEYS[3]) <= 1 then return {'lastowner'} end
--@checked
endAll(prefix, KEYS[4], 'adminlink:', id, '')
endAll(prefix, KEYS[5], 'session:', id, '')
if redis.call('HGET', KEYS[2], uk) == id then redis.call('HDEL', KEYS[2], uk) end
redis.call('SREM', KEYS[3], id)
redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
audit(prefix, ARGV[5], ARGV[4], 'delete', 'Administrator', id, ARGV[3])
return {'ok'}
`

// setAdminPasswordSrc replaces an administrator's password hash and ends
// their links and their sessions but one.
//
// KEYS: 1 admin:<id>, 2 adminlinks:<id>, 3 adminsessions:<id>. ARGV: 1
// prefix, 2 id, 3 password hash, 4 the session to keep ("" none), 5 now, 6
// actor, 7 change log cap.
// Returns {"ok"} or {marker}.
const setAdminPasswordSrc = luaCommon + luaAdmin + `
local prefix, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
--@checked
redis.call('HSET', KEYS[1], 'pw', ARGV[3])
endAll(prefix, KEYS[2], 'adminlink:', id, '')
endAll(prefix, KEYS[3], 'session:', id, ARGV[4])
audit(prefix, ARGV[7], ARGV[6], 'setPassword', 'Administrator', id, ARGV[5])
return {'ok'}
`

// putAdminLinkSrc stores a single-use link of an administrator.
//
// KEYS: 1 admin:<id>, 2 adminlink:<hash>, 3 adminlinks:<id>. ARGV: 1 prefix,
// 2 id, 3 hash, 4 kind, 5 time to live (ms), 6 now, 7 actor, 8 change log
// cap.
// Returns {"ok"} or {marker}.
const putAdminLinkSrc = luaCommon + luaAdmin + `
local prefix, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
--@checked
prune(prefix, KEYS[3], 'adminlink:')
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'admin', id, 'kind', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[3])
audit(prefix, ARGV[8], ARGV[7], 'invite', 'Administrator', id, ARGV[6])
return {'ok'}
`

// adminLinkSrc reads the administrator a link of a kind belongs to.
//
// KEYS: 1 adminlink:<hash>. ARGV: 1 prefix, 2 kind.
// Returns adminFields or {}.
const adminLinkSrc = luaAdmin + `
local l = redis.call('HMGET', KEYS[1], 'admin', 'kind')
if not l[1] or l[2] ~= ARGV[2] then return {} end
return adminFields(ARGV[1], l[1]) or {}
`

// redeemAdminLinkSrc consumes a link of a kind, sets the administrator's
// password hash (ending their other links) when one is given, and starts a
// session: all or nothing.
//
// KEYS: 1 adminlink:<hash>. ARGV: 1 prefix, 2 kind, 3 link hash, 4 password
// hash ("" keeps the password), 5 session hash, 6 session created, 7 CSRF
// token, 8 idle timeout (ms), 9 the administrator the caller expects (""
// any), 10 now, 11 actor, 12 change log cap.
// Returns {"ok", adminFields} or {marker}.
const redeemAdminLinkSrc = luaCommon + luaAdmin + `
local prefix = ARGV[1]
local l = redis.call('HMGET', KEYS[1], 'admin', 'kind')
if not l[1] or l[2] ~= ARGV[2] then return {'notfound'} end
local id = l[1]
if ARGV[9] ~= '' and ARGV[9] ~= id then return {'notfound'} end
local a = adminFields(prefix, id)
if not a then return {'notfound'} end
--@checked
local links = prefix .. 'adminlinks:' .. id
redis.call('DEL', KEYS[1])
redis.call('SREM', links, ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', prefix .. 'admin:' .. id, 'pw', ARGV[4])
  endAll(prefix, links, 'adminlink:', id, '')
  a[5] = '1'
  audit(prefix, ARGV[12], ARGV[11], 'setPassword', 'Administrator', id, ARGV[10])
end
startSession(prefix, id, ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return {'ok', a}
`

// createSessionSrc starts a session of an administrator who exists.
//
// KEYS: 1 admin:<id>. ARGV: 1 prefix, 2 id, 3 session hash, 4 created, 5
// CSRF token, 6 idle timeout (ms).
// Returns {"ok"} or {marker}.
const createSessionSrc = luaAdmin + `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
--@checked
startSession(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return {'ok'}
`

// sessionSrc reads a session and renews its idle timeout.
//
// KEYS: 1 session:<hash>. ARGV: 1 idle timeout (ms).
// Returns {admin, created, csrf} or {}.
const sessionSrc = `
local s = redis.call('HMGET', KEYS[1], 'admin', 'created', 'csrf')
if not s[1] then return {} end
--@checked
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return s
`

// deleteSessionSrc ends a session.
//
// KEYS: 1 session:<hash>. ARGV: 1 prefix, 2 session hash.
// Returns 1.
const deleteSessionSrc = `
local id = redis.call('HGET', KEYS[1], 'admin')
--@checked
redis.call('DEL', KEYS[1])
if id then redis.call('SREM', ARGV[1] .. 'adminsessions:' .. id, ARGV[2]) end
return 1
`

// adminScripts are the administrators' scripts.
type adminScripts struct {
	read, create, setRole, delete, setPassword *script
	putLink, link, redeemLink                  *script
	createSession, session, deleteSession      *script
}

func newAdminScripts() adminScripts {
	return adminScripts{
		read:          newIdempotentScript(readAdminsSrc),
		create:        newScript(createAdminSrc),
		setRole:       newScript(setAdminRoleSrc),
		delete:        newScript(deleteAdminSrc),
		setPassword:   newScript(setAdminPasswordSrc),
		putLink:       newScript(putAdminLinkSrc),
		link:          newIdempotentScript(adminLinkSrc),
		redeemLink:    newScript(redeemAdminLinkSrc),
		createSession: newScript(createSessionSrc),
		session:       newIdempotentScript(sessionSrc),
		deleteSession: newIdempotentWriteScript(deleteSessionSrc),
	}
}

// adminRole checks an administrator's role and returns the owner flag of the
// scripts.
func adminRole(r resources.Role) (string, error) {
	switch r {
	case resources.RoleOwner:
		return "1", nil
	case resources.RoleCollaborator:
		return "0", nil
	}
	return "", resources.Errorf(resources.InvalidValue, "role %q: an administrator is an owner or a collaborator", r)
}

// adminMarker turns a script's failure marker into an error.
func adminMarker(marker, id string) error {
	switch marker {
	case "ok":
		return nil
	case "notfound":
		return resources.Errorf(resources.NotFound, "administrator %q not found", id)
	case "lastowner":
		return resources.ErrLastOwner
	}
	return markerErr(marker)
}

// toAdmin decodes adminFields.
func toAdmin(v any) (resources.Admin, error) {
	f, _ := v.([]any)
	if len(f) != 5 {
		return resources.Admin{}, fmt.Errorf("unexpected administrator fields %v", v)
	}
	str := func(i int) string { s, _ := f[i].(string); return s }
	return resources.Admin{
		ID:          str(0),
		Email:       str(1),
		Role:        resources.Role(str(2)),
		Created:     parseTime(f[3]),
		HasPassword: str(4) == "1",
	}, nil
}

// readAdmins runs readAdminsSrc.
func (s *Store) readAdmins(ctx context.Context, p, mode, arg string) ([]resources.Admin, error) {
	res, err := s.admins.read.Run(ctx, s, []string{p + "admins"}, p, mode, arg).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	out := make([]resources.Admin, 0, len(res))
	for _, v := range res {
		a, err := toAdmin(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// CreateAdmin stores a new administrator with a new id and no password;
// [resources.Uniqueness] if the organization has an administrator of that
// email, ignoring case. The change log records a create by
// [resources.Actor](ctx).
func (s *Store) CreateAdmin(ctx context.Context, org string, a resources.Admin) (resources.Admin, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Admin{}, fmt.Errorf("create administrator: %w", err)
	}
	owner, err := adminRole(a.Role)
	if err != nil {
		return resources.Admin{}, err
	}
	if a.Email == "" {
		return resources.Admin{}, resources.Errorf(resources.InvalidValue, "an administrator needs an email")
	}
	a.ID = newID()
	a.HasPassword = false
	t, ts := now()
	a.Created = t
	res, err := s.admins.create.Run(ctx, s, []string{p + "admins", p + "admin:" + a.ID, p + "owners"},
		p, a.ID, strings.ToLower(a.Email), a.Email, string(a.Role), owner, ts, resources.Actor(ctx), s.MaxChanges).Slice()
	if err != nil {
		return resources.Admin{}, fmt.Errorf("create administrator: redis: %w", err)
	}
	switch marker, _ := res[0].(string); marker {
	case "ok":
		return a, nil
	case "taken":
		return resources.Admin{}, resources.Errorf(resources.Uniqueness, "%s is already an administrator of %s", a.Email, org)
	default:
		return resources.Admin{}, fmt.Errorf("create administrator: %w", markerErr(marker))
	}
}

// Admin returns an administrator by id, or [resources.NotFound].
func (s *Store) Admin(ctx context.Context, org, id string) (resources.Admin, error) {
	return s.oneAdmin(ctx, org, "id", id, id)
}

// AdminByEmail returns an administrator by email, ignoring case, or
// [resources.NotFound].
func (s *Store) AdminByEmail(ctx context.Context, org, email string) (resources.Admin, error) {
	return s.oneAdmin(ctx, org, "email", strings.ToLower(email), email)
}

func (s *Store) oneAdmin(ctx context.Context, org, mode, arg, what string) (resources.Admin, error) {
	notFound := resources.Errorf(resources.NotFound, "administrator %q not found", what)
	p, err := prefix(org)
	if err != nil || arg == "" {
		return resources.Admin{}, notFound
	}
	as, err := s.readAdmins(ctx, p, mode, arg)
	if err != nil {
		return resources.Admin{}, fmt.Errorf("read administrator: %w", err)
	}
	if len(as) == 0 {
		return resources.Admin{}, notFound
	}
	return as[0], nil
}

// ListAdmins returns an organization's administrators, by email (ignoring
// case), in one round trip. Costs O(administrators).
func (s *Store) ListAdmins(ctx context.Context, org string) ([]resources.Admin, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("list administrators: %w", err)
	}
	as, err := s.readAdmins(ctx, p, "all", "")
	if err != nil {
		return nil, fmt.Errorf("list administrators of %s: %w", org, err)
	}
	sort.Slice(as, func(i, j int) bool {
		li, lj := strings.ToLower(as[i].Email), strings.ToLower(as[j].Email)
		if li != lj {
			return li < lj
		}
		return as[i].ID < as[j].ID
	})
	return as, nil
}

// SetAdminRole changes an administrator's role. Demoting the organization's
// last owner fails with [resources.ErrLastOwner] and changes nothing; setting
// the role they have changes and records nothing. A change is recorded as
// [resources.UpdateAction](ctx) (replace) by [resources.Actor](ctx).
func (s *Store) SetAdminRole(ctx context.Context, org, id string, role resources.Role) (resources.Admin, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Admin{}, fmt.Errorf("set administrator role: %w", err)
	}
	owner, err := adminRole(role)
	if err != nil {
		return resources.Admin{}, err
	}
	_, ts := now()
	res, err := s.admins.setRole.Run(ctx, s, []string{p + "admin:" + id, p + "owners"},
		p, id, string(role), owner, ts, resources.Actor(ctx), string(resources.UpdateAction(ctx)), s.MaxChanges).Slice()
	if err != nil {
		return resources.Admin{}, fmt.Errorf("set role of administrator %s: redis: %w", id, err)
	}
	marker, _ := res[0].(string)
	if err := adminMarker(marker, id); err != nil {
		return resources.Admin{}, err
	}
	return toAdmin(res[1])
}

// DeleteAdmin removes an administrator, their links and their sessions;
// [resources.NotFound] if there is none, [resources.ErrLastOwner] (changing
// nothing) if they are the organization's last owner. The change log records
// a delete by [resources.Actor](ctx).
func (s *Store) DeleteAdmin(ctx context.Context, org, id string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("delete administrator: %w", err)
	}
	_, ts := now()
	keys := []string{p + "admin:" + id, p + "admins", p + "owners", p + "adminlinks:" + id, p + "adminsessions:" + id}
	res, err := s.admins.delete.Run(ctx, s, keys, p, id, ts, resources.Actor(ctx), s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("delete administrator %s: redis: %w", id, err)
	}
	marker, _ := res[0].(string)
	return adminMarker(marker, id)
}

// AdminPasswordHash returns an administrator's password hash, "" when they
// have not chosen one, or [resources.NotFound].
func (s *Store) AdminPasswordHash(ctx context.Context, org, id string) (string, error) {
	p, err := prefix(org)
	if err != nil {
		return "", resources.Errorf(resources.NotFound, "administrator %q not found", id)
	}
	v, err := s.client.HMGet(ctx, p+"admin:"+id, "uk", "pw").Result()
	if err != nil {
		return "", fmt.Errorf("password of administrator %s: redis: %w", id, err)
	}
	if v[0] == nil {
		return "", resources.Errorf(resources.NotFound, "administrator %q not found", id)
	}
	hash, _ := v[1].(string)
	return hash, nil
}

// SetAdminPassword replaces an administrator's password hash and ends their
// links and their sessions, except the session keep ("" ends them all);
// [resources.NotFound] if there is no administrator. The change log records a
// setPassword by [resources.Actor](ctx).
func (s *Store) SetAdminPassword(ctx context.Context, org, id, hash, keep string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("set administrator password: %w", err)
	}
	if hash == "" {
		return errors.New("set administrator password: no password hash")
	}
	_, ts := now()
	keys := []string{p + "admin:" + id, p + "adminlinks:" + id, p + "adminsessions:" + id}
	res, err := s.admins.setPassword.Run(ctx, s, keys, p, id, hash, keep, ts, resources.Actor(ctx), s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("set password of administrator %s: redis: %w", id, err)
	}
	marker, _ := res[0].(string)
	return adminMarker(marker, id)
}

// PutAdminLink stores hash as a single-use link of kind
// ([resources.AdminLinkInvite] or [resources.AdminLinkSignIn]) of an
// administrator until ttl passes; [resources.NotFound] if there is no
// administrator. The administrator's other links keep working. The change log
// records an invite by [resources.Actor](ctx), for either kind: a link that
// signs someone in is a credential handed out.
func (s *Store) PutAdminLink(ctx context.Context, org, id, kind, hash string, ttl time.Duration) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("put administrator link: %w", err)
	}
	if kind != resources.AdminLinkInvite && kind != resources.AdminLinkSignIn {
		return fmt.Errorf("put administrator link: unknown kind %q", kind)
	}
	if hash == "" || ttl.Milliseconds() <= 0 {
		return fmt.Errorf("put administrator link: no hash or no time to live (%v)", ttl)
	}
	_, ts := now()
	keys := []string{p + "admin:" + id, p + "adminlink:" + hash, p + "adminlinks:" + id}
	res, err := s.admins.putLink.Run(ctx, s, keys, p, id, hash, kind, ttl.Milliseconds(), ts, resources.Actor(ctx), s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("put link of administrator %s: redis: %w", id, err)
	}
	marker, _ := res[0].(string)
	return adminMarker(marker, id)
}

// errNoLink is the store's answer to a link that is not usable: unknown,
// used, expired, of another kind, or of an administrator since removed.
var errNoLink = resources.Errorf(resources.NotFound, "administrator link not found")

// AdminLink returns the administrator whose link of kind has hash, or
// [resources.NotFound]; it consumes nothing.
func (s *Store) AdminLink(ctx context.Context, org, kind, hash string) (resources.Admin, error) {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return resources.Admin{}, errNoLink
	}
	res, err := s.admins.link.Run(ctx, s, []string{p + "adminlink:" + hash}, p, kind).Slice()
	if err != nil {
		return resources.Admin{}, fmt.Errorf("read administrator link: redis: %w", err)
	}
	if len(res) == 0 {
		return resources.Admin{}, errNoLink
	}
	return toAdmin(res)
}

// RedeemAdminLink consumes the link of kind with hash, and, in the same
// script, sets the administrator's password hash when passwordHash is not ""
// (ending their other links; the change log records a setPassword by
// [resources.Actor](ctx)) and starts session sess for them, ending after idle
// unused. sess.AdminID, when not "", must be the link's administrator. It
// fails with [resources.NotFound], changing nothing, when the link is not
// usable or its administrator is gone.
func (s *Store) RedeemAdminLink(ctx context.Context, org, kind, hash, passwordHash string, sess resources.Session, idle time.Duration) (resources.Admin, error) {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return resources.Admin{}, errNoLink
	}
	if err := checkSession(sess, idle, false); err != nil {
		return resources.Admin{}, fmt.Errorf("redeem administrator link: %w", err)
	}
	_, ts := now()
	res, err := s.admins.redeemLink.Run(ctx, s, []string{p + "adminlink:" + hash},
		p, kind, hash, passwordHash, sess.Hash, sess.Created.UTC().Format(tsFormat), sess.CSRF, idle.Milliseconds(),
		sess.AdminID, ts, resources.Actor(ctx), s.MaxChanges).Slice()
	if err != nil {
		return resources.Admin{}, fmt.Errorf("redeem administrator link: redis: %w", err)
	}
	switch marker, _ := res[0].(string); marker {
	case "ok":
		return toAdmin(res[1])
	case "notfound":
		return resources.Admin{}, errNoLink
	default:
		return resources.Admin{}, fmt.Errorf("redeem administrator link: %w", markerErr(marker))
	}
}

// checkSession refuses a session the store cannot keep.
func checkSession(sess resources.Session, idle time.Duration, needAdmin bool) error {
	switch {
	case sess.Hash == "":
		return errors.New("session has no hash")
	case needAdmin && sess.AdminID == "":
		return errors.New("session has no administrator")
	case idle.Milliseconds() <= 0:
		return fmt.Errorf("session idle timeout %v", idle)
	}
	return nil
}

// CreateSession starts session sess of administrator sess.AdminID, ending
// after idle unused; [resources.NotFound] if the administrator is gone.
func (s *Store) CreateSession(ctx context.Context, org string, sess resources.Session, idle time.Duration) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if err := checkSession(sess, idle, true); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	res, err := s.admins.createSession.Run(ctx, s, []string{p + "admin:" + sess.AdminID},
		p, sess.AdminID, sess.Hash, sess.Created.UTC().Format(tsFormat), sess.CSRF, idle.Milliseconds()).Slice()
	if err != nil {
		return fmt.Errorf("create session: redis: %w", err)
	}
	marker, _ := res[0].(string)
	return adminMarker(marker, sess.AdminID)
}

// errNoSession is the store's answer to a session that ended or never was.
var errNoSession = resources.Errorf(resources.NotFound, "session not found")

// Session returns the session with hash and renews its idle timeout to idle,
// in one round trip, or [resources.NotFound].
func (s *Store) Session(ctx context.Context, org, hash string, idle time.Duration) (resources.Session, error) {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return resources.Session{}, errNoSession
	}
	if idle.Milliseconds() <= 0 {
		return resources.Session{}, fmt.Errorf("session: idle timeout %v", idle)
	}
	res, err := s.admins.session.Run(ctx, s, []string{p + "session:" + hash}, idle.Milliseconds()).Slice()
	if err != nil {
		return resources.Session{}, fmt.Errorf("session: redis: %w", err)
	}
	if len(res) != 3 {
		return resources.Session{}, errNoSession
	}
	id, _ := res[0].(string)
	csrf, _ := res[2].(string)
	return resources.Session{Hash: hash, AdminID: id, Created: parseTime(res[1]), CSRF: csrf}, nil
}

// DeleteSession ends the session with hash; ending one that does not exist
// is no error.
func (s *Store) DeleteSession(ctx context.Context, org, hash string) error {
	p, err := prefix(org)
	if err != nil || hash == "" {
		return nil
	}
	if err := s.admins.deleteSession.Run(ctx, s, []string{p + "session:" + hash}, p, hash).Err(); err != nil {
		return fmt.Errorf("delete session: redis: %w", err)
	}
	return nil
}
