package backend

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/scimd/scimd/resources"
)

// A group's members in display order, paged by key.
//
// members:<groupId> (userId -> display) is what the group's members are; it
// cannot be read in order. Beside it, morder:<groupId> is a sorted set of
// score 0 whose members are orderKey(display, userId): the display with its
// ASCII letters folded to lower case, NUL, the user id. The write scripts
// keep the two in step in the same script (setMember in luaCommon: adding,
// removing, a user's rename or deletion; a replacement or a group's deletion
// drop the set with the hash), so a page is a range read (ZRANGEBYLEX) and
// a count of what precedes it (ZLEXCOUNT): O(log N + page) whatever the
// group's size. It costs about as much memory as the members hash again
// (see the README's Groups section).
//
// Groups written before the set existed lack it; so would a set that a bug
// left short. The set always has as many entries as the hash (ZCARD ==
// HLEN, both O(1)) when it is whole, so a page that finds them unequal
// rebuilds it first, in batches ([Store.rebuildMemberOrder]), once.
// [Store.Check] compares the two entry by entry.

// luaOrderKey is the key of a member in morder:<groupId>; prepended to the
// scripts that write or read that set.
const luaOrderKey = `
-- orderKey is a member's entry in its group's morder set: its display with
-- ASCII letters in lower case (the same on Redis and the embedded store,
-- whose string.lower differ beyond ASCII), NUL, its id.
local function orderKey(d, uid)
  return (string.gsub(d, '[A-Z]', function(c) return string.char(string.byte(c) + 32) end)) .. string.char(0) .. uid
end
`

// memberPageSrc reads one page of a group's members in display order.
//
// KEYS: 1 members:<groupId>, 2 morder:<groupId>, 3 group:<groupId>.
// ARGV: 1, 2 the lexicographic range of the members asked for ("-" and "+"
// for all, else "[" prefix and "(" prefix 0xFF), 3 where the page starts
// ("" at the range's start, else an exclusive bound), 4 "rev" when the page
// ends before ARGV 3 instead (when fewer precede it than a page holds, the
// range's first page is read), 5 the page's size.
// Returns {0} when the group does not exist, else {1, HLEN of the members,
// ZCARD of the order, members in the range, members in the range before
// the page, entry, display, entry, display, ...}.
const memberPageSrc = `
if redis.call('EXISTS', KEYS[3]) == 0 then return {0} end
local lo, hi, from, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
local hlen, zcard = redis.call('HLEN', KEYS[1]), redis.call('ZCARD', KEYS[2])
local inRange = zcard
if lo ~= '-' or hi ~= '+' then inRange = redis.call('ZLEXCOUNT', KEYS[2], lo, hi) end
local got = {}
if ARGV[4] == 'rev' then
  local back = redis.call('ZREVRANGEBYLEX', KEYS[2], from, lo, 'LIMIT', 0, n)
  if #back == n then
    for i = #back, 1, -1 do got[#got + 1] = back[i] end
  end
end
if #got == 0 then
  local start = lo
  if from ~= '' and ARGV[4] ~= 'rev' then start = from end
  got = redis.call('ZRANGEBYLEX', KEYS[2], start, hi, 'LIMIT', 0, n)
end
local before = 0
if #got > 0 then before = redis.call('ZLEXCOUNT', KEYS[2], lo, '(' .. got[1]) end
local out = {1, hlen, zcard, inRange, before}
for _, e in ipairs(got) do
  local at = string.find(e, string.char(0), 1, true)
  local d = at and redis.call('HGET', KEYS[1], string.sub(e, at + 1))
  out[#out + 1] = e
  out[#out + 1] = d or ''
end
return out
`

// orderMembersSrc rebuilds part of a group's morder set from its members:
// with ARGV 1 "add", each user named (ARGV 2..) that is a member gets its
// entry; with "drop", each entry named (ARGV 2..) that is not a member's
// current one is removed. Running it twice changes nothing more.
//
// KEYS: 1 members:<groupId>, 2 morder:<groupId>.
// Returns how many entries it added or removed.
const orderMembersSrc = luaOrderKey + `
local n = 0
for i = 2, #ARGV do
  if ARGV[1] == 'add' then
    local d = redis.call('HGET', KEYS[1], ARGV[i])
    if d then n = n + redis.call('ZADD', KEYS[2], 0, orderKey(d, ARGV[i])) end
  else
    local e = ARGV[i]
    local at = string.find(e, string.char(0), 1, true)
    local d = at and redis.call('HGET', KEYS[1], string.sub(e, at + 1))
    if not d or orderKey(d, string.sub(e, at + 1)) ~= e then n = n + redis.call('ZREM', KEYS[2], e) end
  end
end
return n
`

// foldASCII folds ASCII letters to lower case, as orderKey does.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// MemberPage returns one page of group id's members in display order (see
// [resources.MemberPageQuery]), or [resources.NotFound]: one script of
// cost O(log N + page).
func (s *Store) MemberPage(ctx context.Context, org, id string, q resources.MemberPageQuery) (resources.MemberPage, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.MemberPage{}, fmt.Errorf("members of group %s: %w", id, err)
	}
	after, err := decodeMemberKey(q.After)
	if err != nil {
		return resources.MemberPage{}, err
	}
	before, err := decodeMemberKey(q.Before)
	if err != nil {
		return resources.MemberPage{}, err
	}
	prefixKey := foldASCII(q.Prefix)
	lo, hi := "-", "+"
	if prefixKey != "" {
		// No entry byte is 0xFF (a display is UTF-8): every entry that
		// starts with the prefix sorts before the prefix and 0xFF.
		lo, hi = "["+prefixKey, "("+prefixKey+"\xff"
	}
	from, dir := "", ""
	switch {
	case after != "" && after >= prefixKey:
		from = "(" + after
	case before != "":
		dir = "rev"
		from = "(" + before
		if prefixKey != "" && before > prefixKey+"\xff" {
			from = hi
		}
	}
	keys := []string{p + "members:" + id, p + "morder:" + id, p + "group:" + id}
	var res []any
	for attempt := 0; ; attempt++ {
		res, err = s.memberPage.Run(ctx, s, keys, lo, hi, from, dir, q.Count).Slice()
		if err != nil {
			return resources.MemberPage{}, fmt.Errorf("members of group %s: redis: %w", id, err)
		}
		if len(res) < 5 || attempt == 1 || res[1] == res[2] {
			break
		}
		// The order lacks members (a group written before it existed) or
		// holds strays: rebuild it, once.
		if err := s.rebuildMemberOrder(ctx, keys[0], keys[1]); err != nil {
			return resources.MemberPage{}, fmt.Errorf("members of group %s: %w", id, err)
		}
	}
	if len(res) < 5 {
		return resources.MemberPage{}, resources.Errorf(resources.NotFound, "group %q not found", id)
	}
	num := func(v any) int { n, _ := v.(int64); return int(n) }
	total, inRange, offset := num(res[1]), num(res[3]), num(res[4])
	out := resources.MemberPage{Total: total, Matching: total, Offset: offset, Members: make([]resources.Ref, 0, (len(res)-5)/2)}
	if prefixKey != "" {
		out.Matching = inRange
	}
	var first, last string
	for i := 5; i+1 < len(res); i += 2 {
		e, _ := res[i].(string)
		d, _ := res[i+1].(string)
		_, uid, _ := strings.Cut(e, "\x00")
		out.Members = append(out.Members, resources.Ref{ID: uid, Display: d})
		if first == "" {
			first = e
		}
		last = e
	}
	if offset > 0 && first != "" {
		out.Prev = encodeMemberKey(first)
	}
	if offset+len(out.Members) < inRange && last != "" {
		out.Next = encodeMemberKey(last)
	}
	return out, nil
}

// encodeMemberKey makes an entry of morder:<groupId> a key callers pass
// back as is (in a URL).
func encodeMemberKey(e string) string { return base64.RawURLEncoding.EncodeToString([]byte(e)) }

// decodeMemberKey is encodeMemberKey's inverse; "" is no key.
func decodeMemberKey(k string) (string, error) {
	if k == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || !strings.Contains(string(b), "\x00") {
		return "", resources.Errorf(resources.InvalidValue, "the page key %q is not one a page of members gave", k)
	}
	return string(b), nil
}

// rebuildMemberOrder makes the order set keys[1] hold exactly an entry per
// member of the hash membersKey: it adds the missing ones, HSCAN batch by
// batch, then drops the strays, ZSCAN batch by batch. Writes meanwhile keep
// both in step, so the set is whole at the end.
func (s *Store) rebuildMemberOrder(ctx context.Context, membersKey, orderKey string) error {
	keys := []string{membersKey, orderKey}
	var cursor uint64
	for {
		kv, next, err := s.client.HScan(ctx, membersKey, cursor, "", memberBatch).Result()
		if err != nil {
			return fmt.Errorf("rebuild the members' order: redis: %w", err)
		}
		args := []any{"add"}
		for i := 0; i+1 < len(kv); i += 2 {
			args = append(args, kv[i])
		}
		if len(args) > 1 {
			if err := s.orderMembers.Run(ctx, s, keys, args...).Err(); err != nil {
				return fmt.Errorf("rebuild the members' order: redis: %w", err)
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	for {
		es, next, err := s.client.ZScan(ctx, orderKey, cursor, "", memberBatch).Result()
		if err != nil {
			return fmt.Errorf("rebuild the members' order: redis: %w", err)
		}
		args := []any{"drop"}
		for i := 0; i+1 < len(es); i += 2 { // entries and scores alternate
			args = append(args, es[i])
		}
		if len(args) > 1 {
			if err := s.orderMembers.Run(ctx, s, keys, args...).Err(); err != nil {
				return fmt.Errorf("rebuild the members' order: redis: %w", err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
