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
//   - unique:user:userName, the HASH lowercase userName -> userId: the
//     userName index keeps userNames unique (kind.uniqueByIndex). It held
//     the same facts, so it is just removed. Users written before keep
//     their key of it in their field "uk" until their next write.
//   - ix:user:active, the lexicographic index "true"/"false" NUL userId:
//     inactive:user keeps the exceptions instead (active.go). It is read
//     into inactive:user in batches, then removed; queries answer active
//     as a filter no index covers until it is gone. Users written before
//     keep its entries in their field "ix" (ignored) until their next
//     write.
//
// An older server still running against the store would check uniqueness
// in the removed hash and miss users' active: upgrade every server of a
// deployment together.
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
	return int(n) + converted, nil
}

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
