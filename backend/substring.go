package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// Substring search (co, ew) from trigram indexes, opted in per attribute
// and per organization: each opted-in attribute costs memory per customer
// (README "Substring search"). Keys and fields, in the organization's slot:
//
//	settings  substringSearch   the opted-in attributes, comma-separated,
//	                            in substringAttrs' order ("" or none: off)
//	settings  substringSweep    the pending build or purge (JSON
//	                            substringSweep): the attributes whose
//	                            existing users' entries are being written
//	                            or removed, and the ordering-set score the
//	                            sweep has passed
//	ix:user:<attr>#3            the trigram index of an opted-in attribute:
//	                            members "trigram NUL id", score 0
//
// A user's trigram entries are part of its index entries (the ix field,
// [kind.indexEntries]): every write, deletion and purge keeps them with the
// others, through setIndex. A change of the setting bumps the generation of
// the organization's User type (exts:gen, as custom attributes do), so that
// a write computed with the former set is refused as stale and computed
// again, and records a sweep that rewrites the entries of every existing
// user, in batches ([Store.SweepSubstring]); a finished sweep bumps the
// generation again. Until it has finished, queries do not use the
// attributes it covers: the bounded scan answers them.

// substringAttrs are the attributes that may be opted in (see
// [resources.SubstringAttributes]).
var substringAttrs = resources.SubstringAttributes

// Fields of the settings hash kept by this file.
const (
	settingSubstringSearch = "substringSearch"
	settingSubstringSweep  = "substringSweep"
)

// trigramSuffix ends the index name of an attribute's trigram index.
const trigramSuffix = "#3"

// substringSweep is a pending sweep of trigram entries, as stored.
type substringSweep struct {
	Attrs []string `json:"attrs"`
	After int64    `json:"after"`
}

// splitSetting returns the attributes of a stored substringSearch value.
func splitSetting(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// withSubstring sets k's trigram indexes from an organization's type.
func (k *kind) withSubstring(c schemas.Custom) {
	if len(c.Substring) == 0 {
		return
	}
	k.substring = nil
	for _, ix := range k.indexes {
		if slices.Contains(c.Substring, ix.name) {
			k.substring = append(k.substring, ix)
		}
	}
	k.substringReady = c.SubstringReady
}

// trigrams returns the distinct 3-character substrings of s, by Unicode
// characters, in order of first appearance, added to seen.
func trigrams(s string, seen map[string]bool) []string {
	var out []string
	r := []rune(s)
	for i := 0; i+3 <= len(r); i++ {
		t := string(r[i : i+3])
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// substringValue is a value as an attribute's indexes hold it: lower-cased
// unless the attribute is caseExact. ok is false for a value the index
// cannot hold (not a string, holding NUL, not UTF-8).
func substringValue(ix indexAttr, v any) (string, bool) {
	s, ok := v.(string)
	if !ok || strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return "", false
	}
	if !ix.caseExact {
		s = strings.ToLower(s)
	}
	return s, true
}

// trigramEntries returns a document's entries in k's trigram indexes, a
// flat list attr#3, trigram: each trigram of each value, once per
// attribute.
func (k *kind) trigramEntries(attrs map[string]any) []string {
	var out []string
	for _, ix := range k.substring {
		seen := map[string]bool{}
		for _, v := range ix.values(attrs) {
			s, ok := substringValue(ix, v)
			if !ok {
				continue
			}
			for _, t := range trigrams(s, seen) {
				out = append(out, ix.name+trigramSuffix, t)
			}
		}
	}
	return out
}

// isTrigramIndex reports whether an index entry's attribute is a trigram
// index's.
func isTrigramIndex(attr string) bool { return strings.HasSuffix(attr, trigramSuffix) }

// substringTerms returns what a co or ew filter asks of a ready trigram
// index: the attribute, the trigrams of the value, and whether the ids of
// its one trigram are exactly the matches (co with a 3-character value on
// a single-valued attribute). ok is false when no trigram index answers it.
func (k *kind) substringTerms(e *resources.Comparison) (ix indexAttr, tris []string, exact, ok bool) {
	op := e.Op
	if op != filter.CO && op != filter.EW {
		return indexAttr{}, nil, false, false
	}
	ix, _, ok = k.indexOf(e)
	if !ok || !slices.Contains(k.substringReady, ix.name) {
		return indexAttr{}, nil, false, false
	}
	v, ok := substringValue(ix, e.Value)
	if !ok {
		return indexAttr{}, nil, false, false
	}
	tris = trigrams(v, map[string]bool{})
	if len(tris) == 0 {
		return indexAttr{}, nil, false, false
	}
	exact = op == filter.CO && utf8.RuneCountInString(v) == 3 && !ix.multi
	return ix, tris, exact, true
}

// trigramLeaf is the leaf reading the ids of one trigram of ix's index.
func trigramLeaf(k *kind, ix indexAttr, t string, exact bool) *node {
	tix := ix
	tix.name += trigramSuffix
	tix.multi = false // a user's trigrams are distinct: no id repeats
	return &node{key: "ix:" + k.name + ":" + tix.name, ix: tix,
		ranges: []lexRange{{min: "[" + t + "\x00", max: "(" + t + "\x01"}}, exact: exact}
}

// substringPlan plans a co or ew filter on an opted-in attribute whose
// trigram index is built, with a value of at least 3 characters: the "and"
// of the value's trigram leaves, a balanced tree, which the planner drives
// by its most selective side down to the rarest trigram (planner.go,
// driver: a ZLEXCOUNT per trigram). Its ids are candidates for the matcher,
// or exactly the matches (see substringTerms). nil: no trigram index
// answers the filter.
func substringPlan(k *kind, e *resources.Comparison) *node {
	ix, tris, exact, ok := k.substringTerms(e)
	if !ok {
		return nil
	}
	var tree func(ts []string) *node
	tree = func(ts []string) *node {
		if len(ts) == 1 {
			return trigramLeaf(k, ix, ts[0], exact)
		}
		return &node{op: filter.AND, left: tree(ts[:len(ts)/2]), right: tree(ts[len(ts)/2:])}
	}
	return tree(tris)
}

// substringCurrent returns k without its trigram indexes when filter e
// would be read from one and the organization's custom generation is no
// longer the one k's type was read at: its substringSearch setting may have
// changed since (a type is cached for seconds, resources.TypeFor), and an
// index being removed or rebuilt must not answer. The narrowed or bounded
// scan answers then (narrow.go, query.go). One GET, only for such filters.
func (s *Store) substringCurrent(ctx context.Context, p string, k *kind, e resources.Filter) (*kind, error) {
	if len(k.substringReady) == 0 || e == nil || !k.readsTrigrams(e) {
		return k, nil
	}
	gen, err := s.client.Get(ctx, p+"exts:gen").Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if gen == k.rt.Custom.Generation {
		return k, nil
	}
	out := *k
	out.substring, out.substringReady = nil, nil
	return &out, nil
}

// readsTrigrams reports whether a comparison of e is planned onto a
// trigram index (substringTerms).
func (k *kind) readsTrigrams(e resources.Filter) bool {
	switch e := e.(type) {
	case *resources.Comparison:
		_, _, _, ok := k.substringTerms(e)
		return ok
	case *resources.ValuePath:
		return k.readsTrigrams(e.Filter)
	case *resources.Logical:
		return k.readsTrigrams(e.Left) || e.Right != nil && k.readsTrigrams(e.Right)
	case *resources.Not:
		return k.readsTrigrams(e.Filter)
	}
	return false
}

// substringHint is what a filter that the bounded scan could not answer
// needs to be answered from k's trigram indexes ("" when it has none).
func (k *kind) substringHint() string { return shortValueHint(k.substringReady) }

// shortValueHint is the hint of a co or ew too short for the trigram
// indexes of attrs ("" when there is none).
func shortValueHint(attrs []string) string {
	if len(attrs) == 0 {
		return ""
	}
	return "; co and ew need a value of at least 3 characters with substringSearch on " + strings.Join(attrs, ", ")
}

// luaSubstringSetting plans and writes a change of an organization's
// substringSearch setting: the attributes added or removed join the pending
// sweep, which starts again from the first user, and the generation of its
// User type grows.
const luaSubstringSetting = `
-- substringPlan returns the sweep state a change of substringSearch
-- (settings KEYS, to value v) starts, or nil when v is the setting already.
-- It only reads.
local function substringPlan(settings, v)
  local old = redis.call('HGET', settings, 'substringSearch') or ''
  if old == v then return nil end
  local function split(s)
    local t = {}
    for a in string.gmatch(s, '[^,]+') do t[a] = true end
    return t
  end
  local pending = {}
  local cur = redis.call('HGET', settings, 'substringSweep')
  if cur then for _, a in ipairs(cjson.decode(cur).attrs) do pending[a] = true end end
  local o, n = split(old), split(v)
  for a in pairs(o) do if not n[a] then pending[a] = true end end
  for a in pairs(n) do if not o[a] then pending[a] = true end end
  local attrs = {}
  for a in pairs(pending) do attrs[#attrs + 1] = a end
  table.sort(attrs)
  return cjson.encode({attrs = attrs, after = 0})
end

-- substringWrite writes a change substringPlan planned (sweep), audited.
local function substringWrite(settings, gen, v, sweep, prefix, maxlen, actor, now)
  if v == '' then
    redis.call('HDEL', settings, 'substringSearch')
  else
    redis.call('HSET', settings, 'substringSearch', v)
  end
  redis.call('HSET', settings, 'substringSweep', sweep)
  redis.call('INCR', gen)
  audit(prefix, maxlen, actor, 'replace', 'Settings', 'substringSearch', now)
end
`

// setSettingsSrc changes several of an organization's settings at once, or
// none: plain fields and, when given, substringSearch (luaSubstringSetting).
// Each field that changes is audited.
//
// KEYS: 1 settings, 2 exts:gen. ARGV: 1 prefix, 2 actor, 3 now, 4 change
// log cap, 5 "1" when ARGV 6 is given, 6 the new substringSearch, 7..
// field, value pairs ("" deletes the field).
// Returns {"ok", "1" if substringSearch changed else "0"}.
const setSettingsSrc = luaCommon + luaSubstringSetting + `
local sweep = nil
if ARGV[5] == '1' then sweep = substringPlan(KEYS[1], ARGV[6]) end
local changed = {}
for i = 7, #ARGV, 2 do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then changed[#changed + 1] = i end
end
--@checked
for _, i in ipairs(changed) do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  audit(ARGV[1], ARGV[4], ARGV[2], 'replace', 'Settings', ARGV[i], ARGV[3])
end
if not sweep then return {'ok', '0'} end
substringWrite(KEYS[1], KEYS[2], ARGV[6], sweep, ARGV[1], ARGV[4], ARGV[2], ARGV[3])
return {'ok', '1'}
`

// substringBatchHook and purgeBatchHook, set by tests only, run between a
// batch's read of its users and its script (substringBatch, purgeBatch in
// extensions.go): what another process could do in that time.
var substringBatchHook, purgeBatchHook func()

// substringBatchSrc writes one batch of the substring sweep: users' index
// entries with the trigram entries of the current set.
//
// KEYS: 1 settings, 2 exts:gen. ARGV: 1 prefix, 2 the generation the
// entries were computed under, 3 the sweep state they were computed for, 4
// the next state ("" when the sweep is done: the field goes, the
// generation grows), then per user: id, expected stored version, its
// trigram entries (JSON flat list; its other entries stay as stored).
// Returns {"stale"} when the generation or the sweep changed, else {"ok",
// skipped ids...}: users that changed since they were read.
const substringBatchSrc = luaCommon + `
local prefix = ARGV[1]
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return {'stale'} end
if (redis.call('HGET', KEYS[1], 'substringSweep') or '') ~= ARGV[3] then return {'stale'} end
local skipped = {}
--@checked
for i = 5, #ARGV, 3 do
  local id = ARGV[i]
  local key = prefix .. 'user:' .. id
  local cur = readHash(key)
  if cur.ver and cur.ver == ARGV[i+1] then
    -- The user's stored entries as they are now, but for their trigrams:
    -- a purge batch (extensions.go) may have changed the others since
    -- they were read, without a new version. ('#3': trigramSuffix.)
    local old, new = storedEntries(cur), {}
    for j = 1, #old, 2 do
      if string.sub(old[j], -2) ~= '#3' then
        new[#new + 1] = old[j]
        new[#new + 1] = old[j+1]
      end
    end
    for _, v in ipairs(cjson.decode(ARGV[i+2])) do new[#new + 1] = v end
    setIndex(prefix, 'user', id, old, new)
    writeDoc(key, cur, cur.doc, new, cur.disp or '', {})
  elseif cur.ver then
    skipped[#skipped + 1] = id
  end
end
if #skipped == 0 then
  if ARGV[4] == '' then
    redis.call('HDEL', KEYS[1], 'substringSweep')
    redis.call('INCR', KEYS[2])
  else
    redis.call('HSET', KEYS[1], 'substringSweep', ARGV[4])
  end
end
return {'ok', unpack(skipped)}
`

// substringSweepTimeout bounds the sweep a change of the setting runs (well
// within a request's deadline: the console and the API answer a person)
// before it answers; what is left is resumed by [Store.PurgeExtensions]
// (at every server start and every 30 s while it runs, cmd/scimd) and by
// the next change.
const substringSweepTimeout = 10 * time.Second

// SetSubstringSearch sets the attributes an organization searches by
// substring from trigram indexes (any of substringAttrs; none turns it
// off) and reports whether that changed them. A change is audited (type
// Settings, id substringSearch) and then swept: existing users' trigram
// entries are written (added attributes) or removed (removed ones) in
// batches, for up to 10 s with a context of its own (a client that
// leaves does not stop it); what is left stays pending, resumed later. A
// sweep that fails is not the change's failure.
func (s *Store) SetSubstringSearch(ctx context.Context, org string, attrs []string) (bool, error) {
	return s.SetSettings(ctx, org, resources.SettingsChange{SubstringSearch: attrs, HasSubstring: true})
}

// SetSettings changes several of an organization's settings in one write,
// or none of them: each given value is checked first, each that changes is
// audited, and a substringSearch change starts its sweep as
// [Store.SetSubstringSearch] does. It reports whether substringSearch
// changed.
func (s *Store) SetSettings(ctx context.Context, org string, c resources.SettingsChange) (bool, error) {
	args, err := settingsArgs(c)
	if err != nil {
		return false, err
	}
	p, err := prefix(org)
	if err != nil {
		return false, fmt.Errorf("set settings of %s: %w", org, err)
	}
	_, ts := now()
	res, err := s.setSettings.Run(ctx, s, []string{p + "settings", p + "exts:gen"},
		append([]any{p, resources.Actor(ctx), ts, s.MaxChanges}, args...)...).Slice()
	s.recent.forget(org)
	if err != nil {
		return false, fmt.Errorf("set settings of %s: redis: %w", org, err)
	}
	changed, _ := res[1].(string)
	if changed != "1" {
		return false, nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), substringSweepTimeout)
	defer cancel()
	_ = s.SweepSubstring(sctx, org) // pending until done: see SubstringPending
	return true, nil
}

// settingsArgs checks c and returns setSettingsSrc's ARGV from 5 on.
func settingsArgs(c resources.SettingsChange) ([]any, error) {
	args := []any{"0", ""}
	if c.HasSubstring {
		attrs, err := resources.ParseSubstringSearch(c.SubstringSearch)
		if err != nil {
			return nil, err
		}
		args = []any{"1", strings.Join(attrs, ",")}
	}
	for _, f := range []struct {
		field string
		value *string
		parse func(string) (string, error)
	}{{settingOnboarding, c.Onboarding, resources.ParseOnboarding}, {settingUserNameFormat, c.UserNameFormat, resources.ParseUserNameFormat}} {
		if f.value == nil {
			continue
		}
		if _, err := f.parse(*f.value); err != nil {
			return nil, err
		}
		args = append(args, f.field, *f.value)
	}
	return args, nil
}

// decodeSweep decodes a stored sweep state.
func decodeSweep(raw string) (substringSweep, error) {
	var st substringSweep
	if raw == "" {
		return st, nil
	}
	err := json.Unmarshal([]byte(raw), &st)
	return st, err
}

// maxSweepRestarts bounds how often a sweep starts its batch again because
// the organization's User type changed meanwhile.
const maxSweepRestarts = 100

// SweepSubstring runs an organization's pending substring sweep (see
// substringBatchSrc) to its end, resuming where a former run stopped: users
// in creation order, sweepBatch at a time. Nothing pending: nothing done.
func (s *Store) SweepSubstring(ctx context.Context, org string) error {
	p, err := prefix(org)
	if err != nil {
		return err
	}
	for restarts := 0; ; restarts++ {
		done, err := s.sweepSubstring(ctx, p, org)
		if err != nil {
			return fmt.Errorf("substring sweep of %s: %w", org, err)
		}
		if done {
			return nil
		}
		if restarts == maxSweepRestarts {
			return fmt.Errorf("substring sweep of %s: the organization's User type kept changing", org)
		}
	}
}

// sweepSubstring sweeps under the organization's current User type until
// the sweep is done (true) or the type or the sweep changed (false: the
// caller starts again).
func (s *Store) sweepSubstring(ctx context.Context, p, org string) (bool, error) {
	set, raw, err := s.extensionSet(ctx, p, org)
	if err != nil {
		return false, err
	}
	if raw == "" {
		return true, nil
	}
	st, err := decodeSweep(raw)
	if err != nil {
		return false, fmt.Errorf("state: %w", err)
	}
	rt, err := set.UserType()
	if err != nil {
		return false, err
	}
	k := s.users.forType(&rt)
	gen := strconv.FormatInt(set.Generation, 10)
	for {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		zs, err := s.client.ZRangeByScoreWithScores(ctx, p+"all:user", &redis.ZRangeBy{
			Min: "(" + strconv.FormatInt(st.After, 10), Max: "+inf", Count: sweepBatch}).Result()
		if err != nil {
			return false, fmt.Errorf("redis: %w", err)
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i], _ = z.Member.(string)
		}
		next := ""
		if len(zs) == sweepBatch {
			after := st
			after.After = int64(zs[len(zs)-1].Score)
			b, err := json.Marshal(after)
			if err != nil {
				return false, err
			}
			next = string(b)
		}
		for attempt := 0; ; attempt++ {
			skipped, stale, err := s.substringBatch(ctx, p, k, gen, raw, next, ids)
			if err != nil || stale {
				return false, err
			}
			if len(skipped) == 0 {
				break
			}
			if attempt == maxPurgeRetries {
				return false, fmt.Errorf("users %v kept changing while their trigram entries were written", skipped)
			}
			ids = skipped
		}
		if next == "" {
			return true, nil
		}
		raw = next
		st.After = int64(zs[len(zs)-1].Score)
	}
}

// substringBatch writes users ids' index entries with the trigram entries
// of k and stores next as the sweep's state. It returns the users that
// changed since read, for the caller to write again, or stale when the
// type or the sweep changed.
func (s *Store) substringBatch(ctx context.Context, p string, k *kind, gen, state, next string, ids []string) (skipped []string, stale bool, err error) {
	users, err := s.storedUsers(ctx, p, ids)
	if err != nil {
		return nil, false, err
	}
	args := []any{p, gen, state, next}
	for i, id := range ids {
		ver, doc, ix := users[i].ver, users[i].doc, users[i].ix
		if ver == "" {
			continue // deleted meanwhile
		}
		var attrs map[string]any
		if err := json.Unmarshal([]byte(doc), &attrs); err != nil {
			return nil, false, fmt.Errorf("user %s: decode document: %w", id, err)
		}
		kept, _, err := splitFlat(ix, isTrigramIndex)
		if err != nil {
			return nil, false, fmt.Errorf("user %s: index entries: %w", id, err)
		}
		tris := k.trigramEntries(attrs)
		if flatJSON(append(kept, tris...)) != ix {
			// Only the trigrams: the script keeps the other entries the
			// user has when it runs.
			args = append(args, id, ver, flatJSON(tris))
		}
	}
	if substringBatchHook != nil {
		substringBatchHook()
	}
	res, err := s.substringScript.Run(ctx, s, []string{p + "settings", p + "exts:gen"}, args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	if marker, _ := res[0].(string); marker == "stale" {
		return nil, true, nil
	}
	for _, v := range res[1:] {
		id, _ := v.(string)
		skipped = append(skipped, id)
	}
	return skipped, false, nil
}
