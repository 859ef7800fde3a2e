package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// Where tokens live: no global key on the request path, so that one Cluster
// slot being unavailable refuses only its own organization's requests.
//
// A token of the current format ([resources.NewTokenSecret]) names its
// organization, and its record (hash -> JSON) is one of the organization's
// keys (tokenRecords), so that authentication reads one Cluster slot: the
// organization's. A token of an older format, or one configured as
// SCIM_BOOTSTRAP_TOKEN, does not say its organization; its record is in the
// global hash tokensKey, which only such tokens read. Both kinds are named
// by the organization's index (name -> hash of the current secret) and, for
// the rotation overlap, its previous secrets (name -> hash).

// tokensKey is the hash of the tokens that do not name their organization,
// by hash: a request finds such a token, and so its organization, with one
// HGET.
const tokensKey = "scimd:tokens"

// tokenIndex is the key of an organization's token index: name -> hash of
// the current secret. It makes names unique per organization and lets an
// owner list and revoke tokens by name without scanning every organization's
// tokens.
func tokenIndex(p string) string { return p + "tokens" }

// tokenRecords is the key of an organization's records of org-scoped
// tokens: hash -> JSON, current and previous secrets alike.
func tokenRecords(p string) string { return p + "tokenhash" }

// tokenPrevious is the key of an organization's previous secrets: name ->
// hash of the secret that the token's last rotation replaced, which works
// until the expiry in its record ([Store.RotateToken]).
func tokenPrevious(p string) string { return p + "tokenprev" }

// tokenUsed is the key of an organization's tokens' last uses: name -> time
// of the current secret, name + previousUse -> time of the previous one
// (which tells whether an identity provider still sends it). It is kept
// apart from the tokens so that recording a use rewrites no token,
// and it is best-effort: [Store.TouchToken] is called at most once per token
// per authentication cache period of each server.
func tokenUsed(p string) string { return p + "tokenused" }

// previousUse is the suffix of a previous secret's field in tokenUsed: no
// token name has a ':'.
const previousUse = ":previous"

// tokenKeys are the organization's token keys, in the order the scripts
// take them.
func tokenKeys(p string) []string {
	return []string{tokenIndex(p), tokenRecords(p), tokenPrevious(p), tokenUsed(p)}
}

// CreateToken stores a new token. Its name must be free in its organization,
// else it fails with [resources.Uniqueness] and stores nothing. The change is
// recorded in the organization's change log, attributed to
// [resources.Actor](ctx).
//
// An org-scoped token ([resources.Token.Scoped]) is one script on its
// organization's keys. Another is two writes, in different Cluster slots:
// the token in the global hash first, then the index. A crash in between
// leaves a token in the global hash that no index names; its secret was
// never shown (the caller prints it only after CreateToken returns), so
// nobody can use it.
func (s *Store) CreateToken(ctx context.Context, t resources.Token) error {
	if err := s.storeToken(ctx, t, "create"); err != nil {
		return fmt.Errorf("create token %s: %w", t.Name, err)
	}
	return nil
}

// PutToken stores t under its name, replacing the organization's token of that
// name, if any: the replaced token, and its previous secret, stop working.
// Storing the same token again changes nothing and records nothing, so that
// a server may put its configured bootstrap token on every start.
func (s *Store) PutToken(ctx context.Context, t resources.Token) error {
	if err := s.storeToken(ctx, t, "put"); err != nil {
		return fmt.Errorf("put token %s: %w", t.Name, err)
	}
	return nil
}

func (s *Store) storeToken(ctx context.Context, t resources.Token, mode string) error {
	if err := resources.ValidateTokenName(t.Name); err != nil {
		return err
	}
	if !t.Role.Valid() {
		return resources.Errorf(resources.InvalidValue, "invalid role %q: want owner, collaborator or reader", t.Role)
	}
	if t.Hash == "" {
		return errors.New("token has no hash")
	}
	p, err := prefix(t.Org)
	if err != nil {
		return err
	}
	taken := func() error {
		return resources.Errorf(resources.Uniqueness, "organization %q already has a token named %q; revoke it first or choose another name", t.Org, t.Name)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	record := string(b) // the script stores it among the organization's keys
	if !t.Scoped {
		record = ""
		if mode == "create" {
			// Fail before writing anything in the common case; the
			// script checks again, atomically.
			n, err := s.client.HExists(ctx, tokenIndex(p), t.Name).Result()
			if err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			if n {
				return taken()
			}
		}
		if err := s.hset(ctx, tokensKey, t.Hash, b); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	_, ts := now()
	res, err := s.putToken.Run(ctx, s, tokenKeys(p),
		p, t.Name, t.Hash, mode, resources.Actor(ctx), ts, s.MaxChanges, record, resources.MaxTokens).Slice()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	switch marker, _ := res[0].(string); marker {
	case "ok":
	case "taken", "full":
		if !t.Scoped {
			// Lost a race for the name, or the last place: withdraw the
			// token, never shown to anyone.
			if err := s.hdel(ctx, tokensKey, t.Hash); err != nil {
				return fmt.Errorf("withdraw token: redis: %w", err)
			}
		}
		if marker == "full" {
			return resources.Errorf(resources.InvalidValue, "organization %q has %d tokens, the most it may have: revoke one it no longer uses first", t.Org, resources.MaxTokens)
		}
		return taken()
	default:
		return markerErr(marker)
	}
	// The replaced secrets that were in the global hash.
	if replaced := nonEmpty(res[2:]); len(replaced) > 0 {
		if err := s.hdel(ctx, tokensKey, replaced...); err != nil {
			return fmt.Errorf("remove replaced token: redis: %w", err)
		}
	}
	if old, _ := res[1].(string); old != "" {
		s.publishRevoked(ctx, t.Org, t.Name)
	}
	return nil
}

// putTokenSrc records a token under its name in the organization's token
// index, with its record when it is org-scoped and its change log entry, and
// forgets the name's previous secret and when the name was last used. A
// token that is not org-scoped lives in the global hash, in another slot on
// Cluster: the caller writes it first (see [Store.CreateToken]).
//
// KEYS: 1 index, 2 records, 3 previous secrets, 4 last uses. ARGV: 1 prefix,
// 2 name, 3 hash, 4 "create" (fail when the name is taken, or when the
// organization has ARGV 9 tokens) or "put" (replace), 5 actor, 6 now, 7
// change log cap, 8 the record of an org-scoped token, or "", 9 the most
// tokens an organization may have.
// Returns {"ok", the replaced current hash or "", replaced hashes that were
// not the organization's records (the caller removes them from the global
// hash)...}, {"taken"} or {"full"}.
const putTokenSrc = luaCommon + `
local old = redis.call('HGET', KEYS[1], ARGV[2])
if old and ARGV[4] == 'create' then return {'taken'} end
if ARGV[4] == 'create' and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[9]) then return {'full'} end
--@checked
if old == ARGV[3] then return {'ok', ''} end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[8]) end
-- A new secret under the name has not been used yet.
redis.call('HDEL', KEYS[4], ARGV[2], ARGV[2] .. ':previous')
local prev = redis.call('HGET', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
local out = {'ok', old or ''}
for _, h in ipairs({old or '', prev or ''}) do
  if h ~= '' and h ~= ARGV[3] and redis.call('HDEL', KEYS[2], h) == 0 then table.insert(out, h) end
end
local action = 'create'
if old then action = 'replace' end
audit(ARGV[1], ARGV[7], ARGV[5], action, 'Token', ARGV[2], ARGV[6])
return out
`

// nonEmpty returns the non-empty strings among vs.
func nonEmpty(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TokenByHash returns the token with the given hash among the tokens that
// do not name their organization (the global hash), or
// [resources.NotFound].
func (s *Store) TokenByHash(ctx context.Context, hash string) (resources.Token, error) {
	return s.tokenRecord(ctx, tokensKey, hash)
}

// OrgTokenByHash returns the organization's org-scoped token with the given
// hash, or [resources.NotFound]. It reads the organization's keys only: one
// Cluster slot, and never the global hash.
func (s *Store) OrgTokenByHash(ctx context.Context, org, hash string) (resources.Token, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Token{}, resources.Errorf(resources.NotFound, "token not found")
	}
	t, err := s.tokenRecord(ctx, tokenRecords(p), hash)
	if err != nil {
		return t, err
	}
	if t.Org != org {
		return resources.Token{}, fmt.Errorf("token by hash: the record of %s names organization %q", org, t.Org)
	}
	t.Scoped = true
	return t, nil
}

func (s *Store) tokenRecord(ctx context.Context, key, hash string) (resources.Token, error) {
	b, err := s.client.HGet(ctx, key, hash).Bytes()
	if errors.Is(err, redis.Nil) {
		return resources.Token{}, resources.Errorf(resources.NotFound, "token not found")
	}
	if err != nil {
		return resources.Token{}, fmt.Errorf("token by hash: redis: %w", err)
	}
	var t resources.Token
	if err := json.Unmarshal(b, &t); err != nil {
		return resources.Token{}, fmt.Errorf("token by hash: decode: %w", err)
	}
	return t, nil
}

// tokenState is what the organization's keys say of one token name: the
// hashes of its current and previous secrets, and their records (nil where
// a record is in neither place: a half-revoked token).
type tokenState struct {
	cur, prev       string
	curRec, prevRec *resources.Token
}

// records reads the records of hashes: the organization's first, then,
// only for those it does not have, the global hash. Absent hashes ("") and
// records in neither place map to nil.
func (s *Store) records(ctx context.Context, p string, hashes []string) ([]*resources.Token, error) {
	out := make([]*resources.Token, len(hashes))
	var ask []string
	for _, h := range hashes {
		if h != "" {
			ask = append(ask, h)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	decode := func(vals []any, scoped bool) (missing bool, err error) {
		j := 0
		for i, h := range hashes {
			if h == "" || out[i] != nil {
				continue
			}
			str, ok := vals[j].(string)
			j++
			if !ok {
				missing = true
				continue
			}
			var t resources.Token
			if err := json.Unmarshal([]byte(str), &t); err != nil {
				return false, fmt.Errorf("decode token: %w", err)
			}
			t.Scoped = scoped
			out[i] = &t
		}
		return missing, nil
	}
	vals, err := s.client.HMGet(ctx, tokenRecords(p), ask...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	missing, err := decode(vals, true)
	if err != nil || !missing {
		return out, err
	}
	ask = ask[:0]
	for i, h := range hashes {
		if h != "" && out[i] == nil {
			ask = append(ask, h)
		}
	}
	vals, err = s.client.HMGet(ctx, tokensKey, ask...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	_, err = decode(vals, false)
	return out, err
}

// ListTokens returns an organization's tokens, by name, with when each was
// last used ([Store.TouchToken]; zero: not since it was created) and the
// secret its last rotation replaced while that still exists
// ([resources.Token.Previous]). The tokens carry their hash (callers must
// not show it: it identifies the token in the store). Costs O(tokens of the
// organization), in two round trips, three when some token is not
// org-scoped.
func (s *Store) ListTokens(ctx context.Context, org string) ([]resources.Token, error) {
	p, err := prefix(org)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var indexCmd, usedCmd, prevCmd *redis.MapStringStringCmd
	if _, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		indexCmd = pipe.HGetAll(ctx, tokenIndex(p))
		usedCmd = pipe.HGetAll(ctx, tokenUsed(p))
		prevCmd = pipe.HGetAll(ctx, tokenPrevious(p))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list tokens of %s: redis: %w", org, err)
	}
	index, used, prev := indexCmd.Val(), usedCmd.Val(), prevCmd.Val()
	if len(index) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	sort.Strings(names)
	hashes := make([]string, 0, 2*len(names))
	for _, name := range names {
		hashes = append(hashes, index[name], prev[name])
	}
	recs, err := s.records(ctx, p, hashes)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", org, err)
	}
	out := make([]resources.Token, 0, len(names))
	for i, name := range names {
		t := recs[2*i]
		if t == nil {
			// Half revoked (see RevokeToken): no longer works, not listed.
			continue
		}
		t.LastUsed = parseTime(used[name])
		if t.Previous = recs[2*i+1]; t.Previous != nil {
			t.Previous.LastUsed = parseTime(used[name+previousUse])
		}
		out = append(out, *t)
	}
	return out, nil
}

// state reads a token name's secrets and their records.
func (s *Store) state(ctx context.Context, org, p, name string) (tokenState, error) {
	var curCmd, prevCmd *redis.StringCmd
	if _, err := s.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		curCmd = pipe.HGet(ctx, tokenIndex(p), name)
		prevCmd = pipe.HGet(ctx, tokenPrevious(p), name)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return tokenState{}, fmt.Errorf("redis: %w", err)
	}
	st := tokenState{cur: curCmd.Val(), prev: prevCmd.Val()}
	if st.cur == "" {
		return st, resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
	}
	recs, err := s.records(ctx, p, []string{st.cur, st.prev})
	if err != nil {
		return st, err
	}
	st.curRec, st.prevRec = recs[0], recs[1]
	return st, nil
}

// legacy returns the hashes of st (current and previous) whose records are
// in the global hash, or in neither place.
func (st tokenState) legacy() []string {
	var out []string
	if st.curRec == nil || !st.curRec.Scoped {
		out = append(out, st.cur)
	}
	if st.prev != "" && (st.prevRec == nil || !st.prevRec.Scoped) {
		out = append(out, st.prev)
	}
	return out
}

// RevokeToken removes an organization's token by name, its current and its
// previous secret, or fails with [resources.NotFound]. The change is
// recorded in the organization's change log, attributed to
// [resources.Actor](ctx).
//
// Secrets in the global hash are removed from it first, so that they stop
// working even if the second write, to the organization's keys, does not
// happen; a crash in between leaves a name in the index that RevokeToken
// removes when run again. Org-scoped secrets go in one script. Every process
// that watches [EventsChannel] ([Store.WatchEvents]) is told at once, so that
// none keeps accepting it from its token cache.
func (s *Store) RevokeToken(ctx context.Context, org, name string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	st, err := s.state(ctx, org, p, name)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	if legacy := st.legacy(); len(legacy) > 0 {
		if err := s.hdel(ctx, tokensKey, legacy...); err != nil {
			return fmt.Errorf("revoke token %s: redis: %w", name, err)
		}
	}
	_, ts := now()
	res, err := s.revokeToken.Run(ctx, s, tokenKeys(p),
		p, name, st.cur, st.prev, resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("revoke token %s: redis: %w", name, err)
	}
	if err := tokenMarker(res, org, name, "revoke token"); err != nil {
		return err
	}
	s.publishRevoked(ctx, org, name)
	return nil
}

// tokenMarker turns the marker of a token script into an error.
func tokenMarker(res []any, org, name, op string) error {
	switch marker, _ := res[0].(string); marker {
	case "ok":
		return nil
	case "notfound":
		return resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
	case "noprevious":
		return resources.Errorf(resources.NotFound, "token %q of organization %q has no previous secret", name, org)
	case "conflict":
		return resources.Errorf(resources.Conflict, "token %q of organization %q changed meanwhile; run the command again", name, org)
	default:
		return fmt.Errorf("%s %s: %w", op, name, markerErr(marker))
	}
}

// revokeTokenSrc removes a token from the organization's keys (index,
// previous secret, last use and records) with its change log entry, if the
// name still maps to the secrets the caller read.
//
// KEYS: 1 index, 2 records, 3 previous secrets, 4 last uses. ARGV: 1 prefix,
// 2 name, 3 current hash, 4 previous hash or "", 5 actor, 6 now, 7 change
// log cap.
// Returns {"ok"} or {"notfound"} or {"conflict"}.
const revokeTokenSrc = luaCommon + `
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if not cur then return {'notfound'} end
local prev = redis.call('HGET', KEYS[3], ARGV[2]) or ''
if cur ~= ARGV[3] or prev ~= ARGV[4] then return {'conflict'} end
--@checked
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2], ARGV[2] .. ':previous')
redis.call('HDEL', KEYS[2], cur)
if prev ~= '' then redis.call('HDEL', KEYS[2], prev) end
audit(ARGV[1], ARGV[7], ARGV[5], 'delete', 'Token', ARGV[2], ARGV[6])
return {'ok'}
`

// RotateToken gives the organization's token name a new, org-scoped secret
// (r.Hash) while the one it replaces keeps working until
// r.PreviousExpires, or its own expiry if that is sooner, or until
// [Store.RevokePreviousToken]: an identity provider can be moved to the new
// secret without a moment when neither works. The new secret keeps the
// token's name, role and settings. A secret that an earlier rotation
// replaced stops working now. It returns the token as it now is, with
// [resources.Token.Previous], or fails with [resources.NotFound].
//
// The new secret and the index change in one script on the organization's
// keys. When the replaced secret is in the global hash (a token of the
// older format), it is marked replaced, with its expiry, there before the
// script (markReplacedSrc): a crash or a failure in between leaves that
// secret for the SCIM API only, until its expiry, and a rotation again
// makes a new one.
func (s *Store) RotateToken(ctx context.Context, org, name string, r resources.Rotation) (resources.Token, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.Token{}, fmt.Errorf("rotate token %s: %w", name, err)
	}
	if r.Hash == "" {
		return resources.Token{}, errors.New("rotate token: no hash")
	}
	st, err := s.state(ctx, org, p, name)
	if err != nil {
		return resources.Token{}, fmt.Errorf("rotate token %s: %w", name, err)
	}
	if st.curRec == nil {
		// Half revoked: the secret no longer works.
		return resources.Token{}, resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
	}
	t := *st.curRec
	t.Hash, t.Created, t.Expires, t.Scoped, t.Previous = r.Hash, r.Created, r.Expires, true, nil
	old := *st.curRec
	old.Replaced = true // the SCIM API only, until it expires
	if old.Expires.IsZero() || r.PreviousExpires.Before(old.Expires) {
		old.Expires = r.PreviousExpires
	}
	rec, err := json.Marshal(t)
	if err != nil {
		return resources.Token{}, err
	}
	oldRec, err := json.Marshal(old)
	if err != nil {
		return resources.Token{}, err
	}
	scopedOld := ""
	if old.Scoped {
		scopedOld = string(oldRec)
	}
	// The secret an earlier rotation replaced goes now: from the global
	// hash first, so that it stops working whatever happens next.
	if st.prev != "" && (st.prevRec == nil || !st.prevRec.Scoped) {
		if err := s.hdel(ctx, tokensKey, st.prev); err != nil {
			return resources.Token{}, fmt.Errorf("rotate token %s: redis: %w", name, err)
		}
	}
	// A secret of the older format, in the global hash, is marked replaced
	// (the SCIM API only, until its expiry) before the rotation, which
	// cannot write that hash in its script: a stop in between leaves the
	// token less able, never a replaced secret that still administers. The
	// mark is written only while the secret is there (a revoke meanwhile
	// stays a revoke), and stays if the rotation then fails: a rotation
	// again makes a new secret.
	s.rotationStep("read")
	if !old.Scoped {
		marked, err := s.markReplaced.Run(ctx, s, []string{tokensKey}, old.Hash, oldRec).Int()
		if err != nil {
			return resources.Token{}, fmt.Errorf("rotate token %s: set the previous secret's expiry: redis: %w", name, err)
		}
		if marked == 0 {
			return resources.Token{}, resources.Errorf(resources.NotFound, "organization %q has no token named %q", org, name)
		}
	}
	s.rotationStep("marked")
	_, ts := now()
	res, err := s.rotateToken.Run(ctx, s, tokenKeys(p),
		p, name, st.cur, st.prev, t.Hash, rec, scopedOld, resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return resources.Token{}, fmt.Errorf("rotate token %s: redis: %w", name, err)
	}
	if err := tokenMarker(res, org, name, "rotate token"); err != nil {
		return resources.Token{}, err
	}
	// Every process drops the name's cached secrets: an earlier previous
	// one is gone, and the one replaced now is replaced (the SCIM API only).
	s.publishRevoked(ctx, org, name)
	t.Previous = &old
	return t, nil
}

// rotateTokenSrc makes a new org-scoped secret the token's current one and
// the current one its previous, with its expiry, if the name still maps to
// the secrets the caller read; the secret an earlier rotation replaced is
// removed. Recorded in the change log as a replacement.
//
// KEYS: 1 index, 2 records, 3 previous secrets, 4 last uses. ARGV: 1 prefix,
// 2 name, 3 current hash, 4 previous hash or "", 5 new hash, 6 new record,
// 7 the current secret's record with its expiry when it is org-scoped, or
// "", 8 actor, 9 now, 10 change log cap.
// Returns {"ok"} or {"notfound"} or {"conflict"}.
const rotateTokenSrc = luaCommon + `
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if not cur then return {'notfound'} end
local prev = redis.call('HGET', KEYS[3], ARGV[2]) or ''
if cur ~= ARGV[3] or prev ~= ARGV[4] then return {'conflict'} end
--@checked
redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[3], ARGV[2], cur)
if ARGV[7] ~= '' then redis.call('HSET', KEYS[2], cur, ARGV[7]) end
if prev ~= '' then redis.call('HDEL', KEYS[2], prev) end
-- The replaced secret's last use becomes the previous one's; the new
-- secret has not been used yet.
local used = redis.call('HGET', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2], ARGV[2] .. ':previous')
if used then redis.call('HSET', KEYS[4], ARGV[2] .. ':previous', used) end
audit(ARGV[1], ARGV[10], ARGV[8], 'replace', 'Token', ARGV[2], ARGV[9])
return {'ok'}
`

// RevokePreviousToken ends the overlap of a rotation now: the secret that the
// last [Store.RotateToken] of the organization's token name replaced stops
// working; the current secret keeps working. It fails with
// [resources.NotFound] when the token or its previous secret does not
// exist. Recorded in the change log as a patch of the token.
func (s *Store) RevokePreviousToken(ctx context.Context, org, name string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("revoke previous secret of %s: %w", name, err)
	}
	st, err := s.state(ctx, org, p, name)
	if err != nil {
		return fmt.Errorf("revoke previous secret of %s: %w", name, err)
	}
	if st.prev == "" {
		return tokenMarker([]any{"noprevious"}, org, name, "")
	}
	if st.prevRec == nil || !st.prevRec.Scoped {
		if err := s.hdel(ctx, tokensKey, st.prev); err != nil {
			return fmt.Errorf("revoke previous secret of %s: redis: %w", name, err)
		}
	}
	_, ts := now()
	res, err := s.revokePrevious.Run(ctx, s, tokenKeys(p),
		p, name, st.prev, resources.Actor(ctx), ts, s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("revoke previous secret of %s: redis: %w", name, err)
	}
	if err := tokenMarker(res, org, name, "revoke previous secret of"); err != nil {
		return err
	}
	s.publishRevoked(ctx, org, name)
	return nil
}

// rotationStep calls the store's onRotationStep, if a test set one, with
// the step a rotation reached: "read" (the token read, nothing written),
// "marked" (an older-format secret marked replaced, before the rotation).
func (s *Store) rotationStep(step string) {
	if s.onRotationStep != nil {
		s.onRotationStep(step)
	}
}

// markReplacedSrc writes the record of a secret in the global hash (a token
// of the older format) only while the secret is there: RotateToken marks the
// secret it replaces before its script, and a revoke meanwhile must not
// bring the secret back.
//
// KEYS: 1 the global hash (tokensKey). ARGV: 1 the secret's hash, 2 its
// record. Returns 1 when written, 0 when the secret is gone.
const markReplacedSrc = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`

// revokePreviousSrc removes a token's previous secret, if it is still the
// one the caller read.
//
// KEYS: 1 index, 2 records, 3 previous secrets, 4 last uses. ARGV: 1 prefix,
// 2 name, 3 previous hash, 4 actor, 5 now, 6 change log cap.
// Returns {"ok"} or {"noprevious"} or {"conflict"}.
const revokePreviousSrc = luaCommon + `
local prev = redis.call('HGET', KEYS[3], ARGV[2])
if not prev then return {'noprevious'} end
if prev ~= ARGV[3] then return {'conflict'} end
--@checked
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[2], prev)
redis.call('HDEL', KEYS[4], ARGV[2] .. ':previous')
audit(ARGV[1], ARGV[6], ARGV[4], 'patch', 'Token', ARGV[2], ARGV[5])
return {'ok'}
`

// TouchToken records that the organization's token name was used now with
// the secret of the given hash: its current secret's last use, or its
// previous secret's ([resources.Token.Previous]) during a rotation's
// overlap. A hash that is neither records nothing. It records nothing in
// the change log: a use is no change.
func (s *Store) TouchToken(ctx context.Context, org, name, hash string) error {
	p, err := prefix(org)
	if err != nil {
		return fmt.Errorf("touch token %s: %w", name, err)
	}
	_, ts := now()
	if err := s.touchToken.Run(ctx, s, []string{tokenIndex(p), tokenUsed(p), tokenPrevious(p)}, name, ts, hash).Err(); err != nil {
		return fmt.Errorf("touch token %s: redis: %w", name, err)
	}
	return nil
}

// touchTokenSrc records when a secret of an organization's token was last
// used, if it is still the token's current or previous secret. It is no
// change: the change log records nothing.
//
// KEYS: 1 token index, 2 last uses, 3 previous secrets. ARGV: 1 name, 2 now,
// 3 hash.
// Returns 1 if recorded, else 0.
const touchTokenSrc = `
local field = ARGV[1]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[3] then
  if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[3] then return 0 end
  field = ARGV[1] .. ':previous'
end
--@checked
redis.call('HSET', KEYS[2], field, ARGV[2])
return 1
`
