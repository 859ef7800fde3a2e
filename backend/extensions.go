package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// Custom attributes (see package resources, extensions.go). Keys, all in
// the organization's slot:
//
//	exts        hash: lower-case URN -> definition (JSON)
//	exts:gen    the generation of the definitions: every change and every
//	            finished purge adds one; a user write checked against an
//	            older one is refused ("stale", writeUserSrc)
//	exts:purge  hash: lower-case full name -> purge state (JSON: the
//	            target and the ordering-set score the sweep has passed)
//	ix:user:<urn>:<attr>[.<sub>]   the filter index of an indexed custom
//	            attribute, as the built-in ones (index.go)
//	unique:user:<urn>:<attr>       a custom unique attribute's claims
//	            (key -> user id; the user's field "uq" lists its own)

var _ resources.ExtensionStore = (*Store)(nil)

// changeExtensionSrc applies one change of an organization's definitions.
//
// KEYS: 1 exts, 2 exts:gen, 3 exts:purge. ARGV: 1 prefix, 2 expected
// generation, 3 lower-case URN, 4 definition ("" deletes), 5 purge targets
// (JSON flat list field, state), 6 actor, 7 action, 8 URN, 9 now, 10 change
// log cap.
// Returns {"ok", generation} or {"conflict"}.
const changeExtensionSrc = luaCommon + `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return {'conflict'} end
local purge = cjson.decode(ARGV[5])
--@checked
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
end
for i = 1, #purge, 2 do redis.call('HSET', KEYS[3], purge[i], purge[i+1]) end
local gen = redis.call('INCR', KEYS[2])
audit(ARGV[1], ARGV[10], ARGV[6], ARGV[7], 'Schema', ARGV[8], ARGV[9])
return {'ok', gen}
`

// purgeBatchSrc writes one batch of a purge: users' documents without the
// removed values, their index entries and claims.
//
// KEYS: 1 exts:purge, 2 exts:gen. ARGV: 1 prefix, 2 purge field, 3 new
// state ("" when the purge is done: the field goes, the generation grows),
// then per user: id, expected stored version, doc, uq (JSON, "" for none),
// removed index entries (JSON flat list attr, value), removed claims (JSON
// flat list attr, key). The user's other index entries stay as they are
// stored when it runs: a substring sweep batch (substring.go) may have
// changed its trigrams since they were read, without a new version.
// Returns {"ok", skipped ids...}: users that changed since they were read.
const purgeBatchSrc = luaCommon + `
local prefix = ARGV[1]
local skipped = {}
--@checked
for i = 4, #ARGV, 6 do
  local id = ARGV[i]
  local key = prefix .. 'user:' .. id
  local cur = readHash(key)
  local ver = cur.ver
  if ver and ver == ARGV[i+1] then
    local gone, out = cjson.decode(ARGV[i+4]), {}
    for j = 1, #gone, 2 do out[gone[j] .. SEP .. gone[j+1]] = true end
    local old, entries = storedEntries(cur), {}
    for j = 1, #old, 2 do
      if not out[old[j] .. SEP .. old[j+1]] then
        entries[#entries + 1] = old[j]
        entries[#entries + 1] = old[j+1]
      end
    end
    if ARGV[i+3] == '' then
      redis.call('HDEL', key, 'uq')
      writeDoc(key, cur, ARGV[i+2], entries, cur.disp or '', {})
    else
      writeDoc(key, cur, ARGV[i+2], entries, cur.disp or '', {'uq', ARGV[i+3]})
    end
    for j = 1, #gone, 2 do redis.call('ZREM', prefix .. 'ix:user:' .. gone[j], gone[j+1] .. NUL .. id) end
    local released = cjson.decode(ARGV[i+5])
    for j = 1, #released, 2 do
      local h = prefix .. 'unique:user:' .. released[j]
      if redis.call('HGET', h, released[j+1]) == id then redis.call('HDEL', h, released[j+1]) end
    end
  elseif ver then
    skipped[#skipped + 1] = id
  end
end
if #skipped == 0 then
  if ARGV[3] == '' then
    redis.call('HDEL', KEYS[1], ARGV[2])
    redis.call('INCR', KEYS[2])
  else
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  end
end
return {'ok', unpack(skipped)}
`

// Extensions reads an organization's custom attribute definitions and its
// substringSearch setting (substring.go): what its User type is made of.
func (s *Store) Extensions(ctx context.Context, org string) (resources.ExtensionSet, error) {
	p, err := prefix(org)
	if err != nil {
		return resources.ExtensionSet{}, err
	}
	set, _, err := s.extensionSet(ctx, p, org)
	return set, err
}

// extensionSet is [Store.Extensions], with the substring sweep's state as
// stored.
func (s *Store) extensionSet(ctx context.Context, p, org string) (resources.ExtensionSet, string, error) {
	pipe := s.client.Pipeline()
	defs := pipe.HVals(ctx, p+"exts")
	gen := pipe.Get(ctx, p+"exts:gen")
	purge := pipe.HVals(ctx, p+"exts:purge")
	substr := pipe.HMGet(ctx, p+"settings", settingSubstringSearch, settingSubstringSweep)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return resources.ExtensionSet{}, "", fmt.Errorf("custom schemas of %s: redis: %w", org, err)
	}
	set := resources.ExtensionSet{}
	set.Generation, _ = strconv.ParseInt(gen.Val(), 10, 64)
	for _, d := range defs.Val() {
		set.Definitions = append(set.Definitions, []byte(d))
	}
	for _, raw := range purge.Val() {
		var st purgeState
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return resources.ExtensionSet{}, "", fmt.Errorf("custom schemas of %s: purge state: %w", org, err)
		}
		set.Purging = append(set.Purging, st.Target)
	}
	slices.SortFunc(set.Purging, func(a, b resources.PurgeTarget) int { return strings.Compare(a.FullName(), b.FullName()) })
	attrs, _ := substr.Val()[0].(string)
	sweep, _ := substr.Val()[1].(string)
	set.Substring = splitSetting(attrs)
	st, err := decodeSweep(sweep)
	if err != nil {
		return resources.ExtensionSet{}, "", fmt.Errorf("substring sweep of %s: %w", org, err)
	}
	set.SubstringPending = st.Attrs
	return set, sweep, nil
}

// ExtensionGeneration reads the generation of an organization's custom
// attribute definitions.
func (s *Store) ExtensionGeneration(ctx context.Context, org string) (int64, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, err
	}
	gen, err := s.client.Get(ctx, p+"exts:gen").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("custom schema generation of %s: redis: %w", org, err)
	}
	return gen, nil
}

// purgeState is a pending purge: its target and the score in the ordering
// set of users up to which it is done.
type purgeState struct {
	Target resources.PurgeTarget `json:"target"`
	After  int64                 `json:"after"`
}

// ChangeExtension applies a change of an organization's definitions if
// their generation is still c.Generation (else
// [resources.ErrVersionConflict]), with its audit entry (type Schema, id
// the URN) and its purges.
func (s *Store) ChangeExtension(ctx context.Context, org string, c resources.ExtensionChange) error {
	p, err := prefix(org)
	if err != nil {
		return err
	}
	flat := []string{}
	for _, t := range c.Purge {
		st, err := json.Marshal(purgeState{Target: t})
		if err != nil {
			return err
		}
		flat = append(flat, strings.ToLower(t.FullName()), string(st))
	}
	purge, err := json.Marshal(flat)
	if err != nil {
		return err
	}
	_, ts := now()
	res, err := s.changeExt.Run(ctx, s, []string{p + "exts", p + "exts:gen", p + "exts:purge"}, p, c.Generation,
		strings.ToLower(c.URN), string(c.Definition), string(purge), resources.Actor(ctx), string(c.Action), c.URN, ts, s.MaxChanges).Slice()
	if err != nil {
		return fmt.Errorf("change custom schema %s: redis: %w", c.URN, err)
	}
	if res[0] == "conflict" {
		return fmt.Errorf("change custom schema %s: %w", c.URN, resources.ErrVersionConflict)
	}
	return nil
}

// PurgeExtensions purges the stored values of an organization's removed
// custom schemas and attributes: its users, in creation order, sweepBatch
// at a time, each batch one script that rewrites the documents that hold
// such values (if they did not change since read; else they are read
// again) and drops their index entries and uniqueness claims. Progress is
// stored after each batch: a purge that stops is resumed where it stopped
// by the next call. It returns how many targets it finished.
func (s *Store) PurgeExtensions(ctx context.Context, org string) (int, error) {
	p, err := prefix(org)
	if err != nil {
		return 0, err
	}
	pending, err := s.client.HGetAll(ctx, p+"exts:purge").Result()
	if err != nil {
		return 0, fmt.Errorf("purge custom attributes of %s: redis: %w", org, err)
	}
	fields := make([]string, 0, len(pending))
	for f := range pending {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	done := 0
	for _, f := range fields {
		var st purgeState
		if err := json.Unmarshal([]byte(pending[f]), &st); err != nil {
			return done, fmt.Errorf("purge custom attributes of %s: state of %s: %w", org, f, err)
		}
		if err := s.purgeTarget(ctx, p, f, st); err != nil {
			return done, fmt.Errorf("purge %s of %s: %w", st.Target.FullName(), org, err)
		}
		done++
	}
	if err := s.SweepSubstring(ctx, org); err != nil { // resumed with the purges
		return done, err
	}
	return done, nil
}

// purgeTarget runs one purge to its end.
func (s *Store) purgeTarget(ctx context.Context, p, field string, st purgeState) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		zs, err := s.client.ZRangeByScoreWithScores(ctx, p+"all:user", &redis.ZRangeBy{
			Min: "(" + strconv.FormatInt(st.After, 10), Max: "+inf", Count: sweepBatch}).Result()
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i], _ = z.Member.(string)
		}
		next := ""
		if len(zs) > 0 {
			after := st
			after.After = int64(zs[len(zs)-1].Score)
			raw, err := json.Marshal(after)
			if err != nil {
				return err
			}
			next = string(raw)
		}
		for attempt := 0; ; attempt++ {
			skipped, err := s.purgeBatch(ctx, p, field, st.Target, ids, next)
			if err != nil {
				return err
			}
			if len(skipped) == 0 {
				break
			}
			if attempt == maxPurgeRetries {
				return fmt.Errorf("users %v kept changing while their values were purged", skipped)
			}
			ids = skipped
		}
		if next == "" {
			return nil
		}
		st.After = int64(zs[len(zs)-1].Score)
	}
}

// maxPurgeRetries bounds how often a purge reads again users that changed
// between its read and its write.
const maxPurgeRetries = 10

// purgeBatch purges target from users ids and stores next as the purge's
// state ("": the purge is done), unless some users changed since read: it
// returns those, for the caller to purge again.
func (s *Store) purgeBatch(ctx context.Context, p, field string, target resources.PurgeTarget, ids []string, next string) ([]string, error) {
	users, err := s.storedUsers(ctx, p, ids)
	if err != nil {
		return nil, err
	}
	args := []any{p, field, next}
	for i, id := range ids {
		u := users[i]
		if u.ver == "" {
			continue // deleted meanwhile
		}
		w, changed, err := purgeUser(target, u.doc, u.ix, u.uq)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", id, err)
		}
		if changed {
			args = append(args, id, u.ver, w.doc, w.uq, w.goneIx, w.goneUq)
		}
	}
	if purgeBatchHook != nil {
		purgeBatchHook() // substring.go
	}
	res, err := s.purgeScript.Run(ctx, s, []string{p + "exts:purge", p + "exts:gen"}, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var skipped []string
	for _, v := range res[1:] {
		id, _ := v.(string)
		skipped = append(skipped, id)
	}
	return skipped, nil
}

// purgedUser is a user's stored fields without a purge target's values
// (its index entries: the stored ones but goneIx, which the script drops).
type purgedUser struct {
	doc, uq, goneIx, goneUq string
}

// purgeUser returns the stored fields of a user (doc, uq, and the index
// entries to drop) without the values of target, and whether they change.
func purgeUser(target resources.PurgeTarget, doc, ix, uq string) (purgedUser, bool, error) {
	var attrs map[string]any
	if err := json.Unmarshal([]byte(doc), &attrs); err != nil {
		return purgedUser{}, false, fmt.Errorf("decode document: %w", err)
	}
	changed := false
	for k, v := range attrs {
		if !strings.EqualFold(k, target.URN) {
			continue
		}
		if target.Attr == "" {
			delete(attrs, k)
			changed = true
			continue
		}
		m, _ := v.(map[string]any)
		for name := range m {
			if strings.EqualFold(name, target.Attr) {
				delete(m, name)
				changed = true
			}
		}
		if len(m) == 0 {
			delete(attrs, k)
		}
	}
	_, goneIx, err := splitFlat(ix, target.Covers)
	if err != nil {
		return purgedUser{}, false, fmt.Errorf("index entries: %w", err)
	}
	keptUq, goneUq, err := splitFlat(uq, target.Covers)
	if err != nil {
		return purgedUser{}, false, fmt.Errorf("claims: %w", err)
	}
	if len(goneIx) > 0 || len(goneUq) > 0 {
		changed = true
	}
	if !changed {
		return purgedUser{}, false, nil
	}
	out := purgedUser{goneIx: flatJSON(goneIx), goneUq: flatJSON(goneUq)}
	if len(keptUq) > 0 {
		out.uq = flatJSON(keptUq)
	}
	raw, err := json.Marshal(attrs)
	if err != nil {
		return purgedUser{}, false, err
	}
	out.doc = string(raw)
	return out, true, nil
}

// splitFlat splits a JSON flat list name, value, ... into the pairs whose
// name gone rejects and those it matches.
func splitFlat(raw string, gone func(string) bool) (kept, removed []string, err error) {
	if raw == "" {
		return []string{}, nil, nil
	}
	var flat []string
	if err := json.Unmarshal([]byte(raw), &flat); err != nil {
		return nil, nil, err
	}
	kept = []string{}
	for i := 0; i+1 < len(flat); i += 2 {
		if gone(flat[i]) {
			removed = append(removed, flat[i], flat[i+1])
		} else {
			kept = append(kept, flat[i], flat[i+1])
		}
	}
	return kept, removed, nil
}

// flatJSON encodes a flat list as the scripts read it.
func flatJSON(flat []string) string {
	if flat == nil {
		flat = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(flat) // strings always encode
	return strings.TrimSpace(buf.String())
}

// forType returns k as an organization's resource type rt has it: its
// custom attributes matched (rt) and, when indexed, planned onto their
// indexes. nil or a type without custom attributes is k.
func (k *kind) forType(rt *schemas.ResourceType) *kind {
	if rt == nil || rt.Custom.Generation == 0 {
		return k
	}
	out := *k
	out.rt = *rt
	if len(rt.Custom.Indexed) > 0 {
		out.indexes = append(slices.Clone(k.indexes), customIndexes(rt.Custom)...)
		out.paths = indexPaths(*rt, out.indexes)
	}
	out.withSubstring(rt.Custom)
	return &out
}

// customIndexes are the indexes of an organization's indexed custom
// attributes.
func customIndexes(c schemas.Custom) []indexAttr {
	out := make([]indexAttr, 0, len(c.Indexed))
	for _, a := range c.Indexed {
		leaf := a.Leaf()
		out = append(out, indexAttr{
			name:      a.FullName(),
			urn:       a.URN,
			typ:       schemas.TypeOf(leaf),
			caseExact: leaf.CaseExact(),
			multi:     a.Attr.MultiValued(),
		})
	}
	return out
}

// customClaims returns the claims (JSON flat list attr, key) of a user's
// values of custom unique attributes: the value, folded as userNames are
// unless the attribute is caseExact.
func customClaims(c schemas.Custom, attrs map[string]any) string {
	flat := []string{}
	for _, a := range c.Unique {
		ext, _ := attrs[a.URN].(map[string]any)
		var key string
		switch v := ext[a.Attr.Name()].(type) {
		case string:
			key = v
			if !a.Attr.CaseExact() {
				key = resources.FoldCase(v)
			}
		case float64:
			key = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			continue
		}
		if key != "" {
			flat = append(flat, a.FullName(), key)
		}
	}
	return flatJSON(flat)
}

// PurgeAllExtensions runs [Store.PurgeExtensions] for every organization
// scimd:orgs lists, calling each with its outcome (a server that starts
// resumes the purges one that stopped left).
func (s *Store) PurgeAllExtensions(ctx context.Context, each func(org string, finished int, err error)) error {
	orgs, err := s.allOrgs(ctx)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		n, err := s.PurgeExtensions(ctx, org)
		each(org, n, err)
	}
	return nil
}
