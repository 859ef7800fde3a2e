package backend

import (
	"context"
	"fmt"
	"strconv"
)

// The userName lookup: "userName eq" and the uniqueness of userNames in
// O(1), whatever the number of users.
//
// The userName index (ix:user:userName, entries "folded userName NUL id")
// answers sw, ranges and sorting; finding one value in it is a walk down a
// skiplist, which at a million users costs Redis about 7 µs more than at
// ten thousand (cache misses at every level). Measured with wrk at a
// million users, old and new binary alternating: the lookup script cost
// Redis 25-27 µs a call with the index (its ZRANGEBYLEX 10-10.6 µs) and
// 17-18 µs with a hash (its HGET 2.8 µs), and scimd served 16-23% more
// userName eq requests.
//
// So the folded userName (the key uniqueness compares, uniqueKey) maps to
// the user's id in one of userNameBuckets hashes, unames:<n>, n chosen by
// userNameBucket. Buckets keep each hash small, so Redis stores it as a
// listpack (up to 128 entries, Redis's default hash-max-listpack-entries:
// about 4 million users; past that a bucket becomes a hashtable, which
// costs more memory, not more time). The write script checks uniqueness
// with HSETNX there instead of a range read of the index: a creation
// sends Redis as many commands as before, one of them an insert into a
// listpack instead of a read.
//
// What it costs (README, Benchmarks): about 71 bytes a user at a million
// (the listpacks, and 32,768 keys; 65,536 buckets cost 90 bytes, with
// inserts 15% cheaper), against some 112 for one hash of them all, and
// 170 at ten thousand (nearly a key each); and 3-7 µs of Redis time per
// creation (HSETNX 4.1-4.4 µs under POST load, the range read it replaces
// 1.2-1.3 µs: the load's userNames are sequential, so that read found its
// place in cache, as a lookup of a random userName does not): POST /Users
// served 3-7% fewer requests.
//
// An organization whose users were written before the buckets existed has
// no unames:ready: its writes keep the buckets and still check uniqueness
// on the index, and userName eq reads the index, until [Store.Upgrade]
// has filled the buckets from the index and set unames:ready. A creation
// in an organization with no user sets it (nothing to fill).
//
// The bucket of a userName is computed in Go (userNameBucket: the keys a
// lookup or a write reads) and in Lua (luaUserNames: the bucket of the
// userName a deletion or a change of userName leaves), the same way.

// userNameBuckets is the number of userName hashes of an organization.
const userNameBuckets = 32768

// userNamesBatch is how many entries of the userName index one script of
// the upgrade puts in their hashes (a variable for tests).
var userNamesBatch = sweepBatch

// userNamesReady is the key, after the prefix, that says an organization's
// userName hashes hold every user (see above).
const userNamesReady = "unames:ready"

// userNameBucket is the bucket of folded userName uk: a polynomial hash
// modulo 2^31-1, which Lua computes exactly in its doubles (no bit
// operations: the embedded store's Lua has none).
func userNameBucket(uk string) int {
	var h uint64
	for i := 0; i < len(uk); i++ {
		h = (h*131 + uint64(uk[i])) % 2147483647
	}
	return int(h % userNameBuckets)
}

// userNameKey is the key of the hash that holds folded userName uk, in the
// organization of prefix p.
func userNameKey(p, uk string) string {
	return p + "unames:" + strconv.Itoa(userNameBucket(uk))
}

// luaUserNames is userNameKey in Lua.
const luaUserNames = `
-- userNameKey is the key of the hash that holds folded userName uk
-- (usernames.go: the same hash as userNameBucket).
local function userNameKey(prefix, uk)
  local h = 0
  for i = 1, #uk do h = (h * 131 + string.byte(uk, i)) % 2147483647 end
  return prefix .. 'unames:' .. string.format('%d', h % 32768)
end
`

// userNamesReadyIn reports whether the userName hashes of the organization
// of prefix p hold every user. Once they do they always will: that is
// remembered, and not asked again.
func (s *Store) userNamesReadyIn(ctx context.Context, p string) (bool, error) {
	return s.keyExists(ctx, p+userNamesReady, true)
}

// upgradeUserNames fills the userName hashes from the userName index, if
// the organization has no unames:ready, userNamesBatch entries a script
// (fillUserNamesSrc), then sets it. Writes
// meanwhile keep the hashes themselves, and a deletion's entry leaves the
// index and its hash in one script: an entry read from the index is a user
// that exists.
func (s *Store) upgradeUserNames(ctx context.Context, p string) error {
	if ready, err := s.userNamesReadyIn(ctx, p); err != nil || ready {
		return err
	}
	after := ""
	for {
		last, err := s.fillUserNames.Run(ctx, s, []string{p + s.users.uniqueIndex()}, p, after, userNamesBatch).Text()
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		if last == "" {
			break
		}
		after = last
	}
	if err := s.client.Set(ctx, p+userNamesReady, "1", 0).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	s.sparseDone.Store(p+userNamesReady, true)
	return nil
}

// fillUserNamesSrc puts the next ARGV 3 entries of the userName index
// after ARGV 2 (a member; "" from the first) in their userName hashes.
//
// KEYS: 1 the userName index. ARGV: 1 prefix, 2 the last member done, 3
// how many. Returns the last member it put, or "" when none was left.
const fillUserNamesSrc = luaUserNames + `
local from = '-'
if ARGV[2] ~= '' then from = '(' .. ARGV[2] end
local ms = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', '0', ARGV[3])
for _, m in ipairs(ms) do
  local at = string.find(m, '\0', 1, true)
  if at then
    local uk = string.sub(m, 1, at - 1)
    redis.call('HSET', userNameKey(ARGV[1], uk), uk, string.sub(m, at + 1))
  end
end
return ms[#ms] or ''
`
