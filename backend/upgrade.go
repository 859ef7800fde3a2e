package backend

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Keys that earlier versions of scimd wrote and this one no longer uses.
// A server converts or removes them when it starts ([Store.UpgradeAll]);
// until then the store answers as before, and [Store.Check] knows them.
//
//   - unique:user:userName, the HASH lowercase userName -> userId of an
//     older version (the unames:<n> hashes replace it, usernames.go): it is
//     just removed. Users written before keep
//     their key of it in their field "uk" until their next write.
//   - ix:user:active, the lexicographic index "true"/"false" NUL userId:
//     inactive:user keeps the exceptions instead (active.go). It is read
//     into inactive:user in batches, then removed; queries answer active
//     as a filter no index covers until it is gone. Users written before
//     keep its entries in their field "ix" (ignored) until their next
//     write.
//   - no unames:<n> (the userName hashes, usernames.go): they are filled
//     from the userName index, in batches, then unames:ready says so;
//     until then the index answers userName eq and keeps userNames unique,
//     and writes keep the hashes too.
//   - ix:user:meta.created, the lexicographic index of the users'
//     creation times, and all:user scored by a creation sequence (INCR
//     seq): all:user is scored by creation time instead (created.go). It
//     is converted in batches (upgradeCreated), then removed; queries read
//     it until it is gone.
//
// An older server still running against the store would check uniqueness
// in the removed hash, miss users' active and give new users a creation
// sequence: upgrade every server of a deployment together.
//
// legacyKeys are those removed as they are; the index of active is
// converted first (upgradeSparse).
var legacyKeys = []string{"unique:user:userName"}

// Upgrade converts an organization's keys of an earlier layout (see
// legacyKeys) and returns how many keys it removed. UNLINK is O(1): Redis
// frees a large key in the background; converting the index of active
// reads every user once, sweepBatch users a script.
func (s *Store) Upgrade(ctx context.Context, org string) (int, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, err
	}
	keys := make([]string, len(legacyKeys))
	for i, k := range legacyKeys {
		keys[i] = p + k
	}
	n, err := s.client.Unlink(ctx, keys...).Result()
	if err != nil {
		return 0, fmt.Errorf("upgrade %s: redis: %w", org, err)
	}
	converted, err := s.upgradeSparse(ctx, p, &s.users)
	if err != nil {
		return int(n), fmt.Errorf("upgrade %s: %w", org, err)
	}
	rescored, err := s.upgradeCreated(ctx, p)
	if err != nil {
		return int(n) + converted, fmt.Errorf("upgrade %s: %w", org, err)
	}
	// Not a key removed: the userName hashes are filled (usernames.go).
	if err := s.upgradeUserNames(ctx, p); err != nil {
		return int(n) + converted + rescored, fmt.Errorf("upgrade %s: %w", org, err)
	}
	return int(n) + converted + rescored, nil
}

// upgradeCreated scores the users of all:user by their creation time, if
// the organization still has the earlier index of meta.created
// (legacyCreatedIndex), sweepBatch users a script (upgradeCreatedSrc),
// then removes the index. It returns 1 when it removed it.
//
// It converts from the last user created down, so that at every step the
// ordering set stays in creation order: the users not yet converted
// (their sequences, below createdEpoch), then those converted and those
// created meanwhile (their times, above it). Each user keeps its place:
// its score is its creation time to the microsecond, or a microsecond
// below the next user's if that is not after (users created in one
// microsecond, or by servers whose clocks disagreed), and its stored
// created (and the index entries of it) becomes that time.
func (s *Store) upgradeCreated(ctx context.Context, p string) (int, error) {
	if n, err := s.client.Exists(ctx, p+legacyCreatedIndex).Result(); err != nil || n == 0 {
		return 0, redisErr(err)
	}
	for {
		n, err := s.createdUpgrade.Run(ctx, s, []string{p + "all:user"}, p, sweepBatch, createdEpoch).Int()
		if err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if err := s.client.Unlink(ctx, p+legacyCreatedIndex).Err(); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return 1, nil
}

// upgradeCreatedSrc converts the last ARGV 2 users of the ordering set
// still scored by a creation sequence (below ARGV 3): see upgradeCreated.
// A user in inactive:user is scored there by its new score (plus or
// minus, as before).
//
// KEYS: 1 all:user. ARGV: 1 prefix, 2 how many users, 3 createdEpoch.
// Returns how many users it converted.
const upgradeCreatedSrc = luaStoredHash + `
local p, n, epoch = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local legacy, inactive, lastmod = p .. 'ix:user:meta.created', p .. 'inactive:user', p .. 'ix:user:meta.lastModified'
local old = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. epoch, '-inf', 'WITHSCORES', 'LIMIT', 0, n)
if #old == 0 then return 0 end
local above = redis.call('ZRANGEBYSCORE', KEYS[1], epoch, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local next = nil -- the lowest score above: each user's is below it
if #above > 0 then next = tonumber(above[2]) end
for i = 1, #old, 2 do
  local id = old[i]
  local key = p .. 'user:' .. id
  local f = redis.call('HMGET', key, 'created', 'modified')
  local was = timeString(f[1] or nil)
  local us = nil
  if was then us = tonumber(string.sub(timeNanos(was), 1, -4)) end
  if not us then us = tonumber(epoch) + tonumber(old[i + 1]) end -- no time: a place all the same
  if next and us >= next then us = next - 1 end
  next = us
  local score = string.format('%.0f', us)
  redis.call('ZADD', KEYS[1], score, id)
  local x = redis.call('ZSCORE', inactive, id)
  if x and tonumber(x) > 0 then
    redis.call('ZADD', inactive, score, id)
  elseif x then
    redis.call('ZADD', inactive, '-' .. score, id)
  end
  local now = timeString(score .. '000')
  if was and now ~= was then
    -- Stored as it was: nanoseconds, or a time string (an older user).
    if string.match(f[1], '^%d+$') then
      redis.call('HSET', key, 'created', score .. '000')
    else
      redis.call('HSET', key, 'created', now)
    end
    redis.call('ZREM', legacy, was .. NUL .. id)
    redis.call('ZADD', legacy, 0, now .. NUL .. id)
    if not f[2] then
      -- Its lastModified is its created (see luaStoredHash).
      redis.call('ZREM', lastmod, was .. NUL .. id)
      redis.call('ZADD', lastmod, 0, now .. NUL .. id)
    end
  end
end
return #old / 2
`

// upgradeSparse reads the earlier index of k's sparse boolean, if the
// organization has it, into the exceptions set (upgradeSparseSrc), every
// user of the ordering set once, then removes it. Users created meanwhile
// are written by this version: they have no entry there. It returns 1
// when it removed the index.
func (s *Store) upgradeSparse(ctx context.Context, p string, k *kind) (int, error) {
	legacy, ok := k.legacySparseIndex()
	if !ok {
		return 0, nil
	}
	if n, err := s.client.Exists(ctx, p+legacy).Result(); err != nil || n == 0 {
		return 0, redisErr(err)
	}
	all := p + "all:" + k.name
	lo := "-inf"
	for {
		zs, err := s.client.ZRangeByScoreWithScores(ctx, all, &redis.ZRangeBy{Min: lo, Max: "+inf", Count: sweepBatch}).Result()
		if err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
		if len(zs) == 0 {
			break
		}
		args := []any{p, legacy, "inactive:" + k.name}
		for _, z := range zs {
			args = append(args, z.Member)
		}
		if err := s.sparseUpgrade.Run(ctx, s, []string{all}, args...).Err(); err != nil {
			return 0, fmt.Errorf("redis: %w", err)
		}
		lo = "(" + strconv.FormatFloat(zs[len(zs)-1].Score, 'f', -1, 64)
	}
	if err := s.client.Unlink(ctx, p+legacy).Err(); err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	return 1, nil
}

// keyExists reports whether key exists: one EXISTS, until the answer is
// final, the existence the key never leaves (a legacy index once gone, a
// marker such as unames:ready once set), which is remembered in
// sparseDone and not asked again.
func (s *Store) keyExists(ctx context.Context, key string, final bool) (bool, error) {
	if _, ok := s.sparseDone.Load(key); ok {
		return final, nil
	}
	n, err := s.client.Exists(ctx, key).Result()
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	if (n == 1) == final {
		s.sparseDone.Store(key, true)
	}
	return n == 1, nil
}

// redisErr wraps a go-redis error, if any.
func redisErr(err error) error {
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// upgradeSparseSrc moves users' entries from the earlier index of a sparse
// boolean to its exceptions set (active.go): "true" goes, "false" becomes
// the user's creation sequence; a user with neither entry and none in the
// exceptions set has no active or was written true by this version, as its
// document says (minus its sequence, or nothing).
//
// KEYS: 1 the ordering set. ARGV: 1 prefix, 2 the earlier index, 3 the
// exceptions set (both after the prefix), 4.. user ids.
// Returns nothing.
const upgradeSparseSrc = luaStoredHash + `
local p = ARGV[1]
local legacy, inactive = p .. ARGV[2], p .. ARGV[3]
for i = 4, #ARGV do
  local id = ARGV[i]
  local seq = redis.call('ZSCORE', KEYS[1], id)
  if seq then
    if redis.call('ZREM', legacy, 'true' .. NUL .. id) == 1 then
      -- active: no entry
    elseif redis.call('ZREM', legacy, 'false' .. NUL .. id) == 1 then
      redis.call('ZADD', inactive, seq, id)
    elseif not redis.call('ZSCORE', inactive, id) then
      local h = readHash(p .. 'user:' .. id)
      local ok, doc = pcall(cjson.decode, h.doc or '')
      local v = nil
      if ok and type(doc) == 'table' then v = doc.active end
      if type(v) == 'string' then v = string.lower(v) end
      if v == false or v == 'false' then
        redis.call('ZADD', inactive, seq, id)
      elseif v ~= true and v ~= 'true' then
        redis.call('ZADD', inactive, -tonumber(seq), id)
      end
    end
  end
end
return {}
`

// UpgradeAll runs [Store.Upgrade] for every organization scimd:orgs lists,
// calling each with its outcome.
func (s *Store) UpgradeAll(ctx context.Context, each func(org string, removed int, err error)) error {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		n, err := s.Upgrade(ctx, org)
		each(org, n, err)
	}
	return nil
}
