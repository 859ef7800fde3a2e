package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// storedField returns the field name of a user's hash key as the scripts'
// readHash reads it, whatever its layout (luaStoredHash): doc, ix (JSON),
// uk, disp, ver, created, modified (tsFormat) or uq.
func storedField(tb testing.TB, ctx context.Context, c redis.Cmdable, key, name string) string {
	tb.Helper()
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		tb.Fatalf("HGETALL %s: %v", key, err)
	}
	return storedUserField(tb, h, name)
}

// storedUserField returns the field name of a user's hash h, as storedField.
func storedUserField(tb testing.TB, h map[string]string, name string) string {
	tb.Helper()
	u, err := readStoredUser(h, true)
	if err != nil {
		tb.Fatalf("read a user's hash %q: %v", h, err)
	}
	fields := map[string]string{"doc": u.doc, "ix": u.ix, "uk": u.uk, "disp": u.disp, "ver": u.ver,
		"created": u.created, "modified": u.modified, "uq": u.uq}
	v, ok := fields[name]
	if !ok {
		tb.Fatalf("no stored field %q", name)
	}
	return v
}

// setStoredField stores a user's hash key in the layout of users written
// before chunks (toLayout "whole", which every reader accepts) with its
// field name set to value: for tests that corrupt a stored user.
func setStoredField(tb testing.TB, ctx context.Context, c redis.Cmdable, key, name, value string) {
	tb.Helper()
	toLayout(tb, ctx, c, key, "whole")
	if err := c.HSet(ctx, key, name, value).Err(); err != nil {
		tb.Fatalf("HSET %s %s: %v", key, name, err)
	}
}

// toLayout rewrites a user's hash as earlier versions wrote it: times as
// strings, disp, and doc and ix (JSON) either "whole" (one field each) or
// "chunked" (fields doc.0, doc.1, ..., ix.0, ... of 64 bytes), with its
// key of the uniqueness hash userNames had then in field uk; or
// "unkeyed", chunked without uk (as 8253c51 wrote it, once the userName
// index kept userNames unique).
//
// Layout "plain" is the compact one (luaStoredHash) with a document not
// coded by the dictionary (docFragments), as users were stored before it.
func toLayout(tb testing.TB, ctx context.Context, c redis.Cmdable, key, layout string) {
	tb.Helper()
	h, err := c.HGetAll(ctx, key).Result()
	if err != nil {
		tb.Fatalf("HGETALL %s: %v", key, err)
	}
	if layout == "plain" {
		toPlain(tb, ctx, c, key, h)
		return
	}
	fields := map[string]string{}
	for _, name := range []string{"ver", "created", "modified", "disp", "uq"} {
		if v := storedUserField(tb, h, name); v != "" || name == "disp" {
			fields[name] = v
		}
	}
	if layout != "unkeyed" {
		var doc struct{ UserName string }
		if err := json.Unmarshal([]byte(storedUserField(tb, h, "doc")), &doc); err != nil {
			tb.Fatalf("the document of %s: %v", key, err)
		}
		fields["uk"] = strings.ToLower(doc.UserName)
	}
	for _, name := range []string{"doc", "ix"} {
		v := storedUserField(tb, h, name)
		if layout == "whole" {
			fields[name] = v
			continue
		}
		for i := 0; i*64 < len(v); i++ {
			fields[name+"."+strconv.Itoa(i)] = v[i*64 : min(len(v), (i+1)*64)]
		}
	}
	if err := c.Del(ctx, key).Err(); err != nil {
		tb.Fatalf("DEL %s: %v", key, err)
	}
	if err := c.HSet(ctx, key, fields).Err(); err != nil {
		tb.Fatalf("HSET %s: %v", key, err)
	}
}

// toPlain rewrites the body of a user's hash h, stored at key in the
// compact layout, without the dictionary's codes (toLayout "plain").
func toPlain(tb testing.TB, ctx context.Context, c redis.Cmdable, key string, h map[string]string) {
	tb.Helper()
	doc, compact, ok := strings.Cut(joinChunks(h, ""), "\x00")
	if !ok {
		tb.Fatalf("user %s is not in the compact layout: %q", key, h)
	}
	ukey, err := storedKey(compact)
	if err != nil {
		tb.Fatal(err)
	}
	doc = unpackDoc(doc, ukey)
	if ukey != "" {
		doc = strings.ReplaceAll(doc, ukey, "\x01") // as the scripts' packDoc
	}
	body := doc + "\x00" + compact
	fields := []any{}
	n := 0
	for ; n == 0 || n*bodyChunk < len(body); n++ {
		fields = append(fields, strconv.Itoa(n), body[n*bodyChunk:min(len(body), (n+1)*bodyChunk)])
	}
	for f := range h {
		if i, err := strconv.Atoi(f); err == nil && i >= n {
			c.HDel(ctx, key, f)
		}
	}
	if err := c.HSet(ctx, key, fields...).Err(); err != nil {
		tb.Fatalf("HSET %s: %v", key, err)
	}
}

// layoutOf names the layout of a user's hash h: "whole", "chunked",
// "unkeyed" (see toLayout) or "compact" (the body in fields 0, 1, ...,
// luaStoredHash; "plain" when its document holds no code of the
// dictionary), "mixed" when it holds fields of several.
func layoutOf(h map[string]string) string {
	seen := map[string]bool{}
	for f := range h {
		switch {
		case f == "uk":
			seen["keyed"] = true
		case f == "doc" || f == "ix":
			seen["whole"] = true
		case strings.HasPrefix(f, "doc.") || strings.HasPrefix(f, "ix."):
			seen["chunked"] = true
		case strings.Trim(f, "0123456789") == "":
			seen["compact"] = true
		}
	}
	keyed := seen["keyed"]
	delete(seen, "keyed")
	switch {
	case len(seen) != 1, keyed && seen["compact"]:
		return "mixed"
	case seen["chunked"] && !keyed:
		return "unkeyed"
	case !keyed:
		doc, _, _ := strings.Cut(joinChunks(h, ""), "\x00")
		if strings.IndexFunc(doc, func(r rune) bool { return r >= docCodeFirst && r <= docCodeLast }) < 0 {
			return "plain"
		}
		return "compact"
	}
	for l := range seen {
		return l
	}
	return ""
}

// oldLayouts are the layouts toLayout writes.
var oldLayouts = []string{"whole", "chunked", "unkeyed", "plain"}

// TestUserWrittenInTheOldLayout reads, searches, updates and deletes a user
// whose hash is in a layout of earlier versions (times as strings, doc and
// ix as JSON whole or in 64-byte chunks, with or without uk; or the
// compact layout without the dictionary), with its groups; Check finds
// nothing at every step, and its first write moves it to the compact
// layout (luaStoredHash).
func TestUserWrittenInTheOldLayout(t *testing.T) {
	for _, layout := range oldLayouts {
		t.Run(layout, func(t *testing.T) { testUserInLayout(t, layout) })
	}
}

func testUserInLayout(t *testing.T, layout string) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		clean := func(when string) {
			t.Helper()
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("%s: Check found %s", when, f) }); err != nil {
				t.Fatalf("%s: Check: %v", when, err)
			}
		}
		u, err := s.CreateUser(ctx, org, user("Old@Example.com", "externalId", "old-1", "active", true,
			"name", map[string]any{"givenName": "Olga", "familyName": "Oldfield"},
			"emails", []any{map[string]any{"value": "old@example.com", "primary": true}}), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		g, err := s.CreateGroup(ctx, org, resources.Resource{Attributes: map[string]any{"displayName": "Olds"}, Members: []resources.Ref{{ID: u.ID}}})
		if err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		key := p + "user:" + u.ID
		before, err := s.GetUser(ctx, org, u.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		toLayout(t, ctx, s.client, key, layout)
		if h := s.client.HGetAll(ctx, key).Val(); layoutOf(h) != layout || (layout != "plain") != (strings.Trim(h["created"], "0123456789") != "") {
			t.Fatalf("user %s not in the %s layout: %q", key, layout, h)
		}
		clean("old layout")

		got, err := s.GetUser(ctx, org, u.ID)
		if err != nil || string(got.Raw) != string(before.Raw) || got.Version != before.Version || len(got.Groups) != 1 {
			t.Fatalf("GetUser of the old layout = %s v%d %v, %v; want %s v%d in %s", got.Raw, got.Version, got.Groups, err, before.Raw, before.Version, g.ID)
		}
		f, err := resources.ParseFilter(schemas.Users(), `userName eq "old@example.com"`, "")
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: f, StartIndex: 1, Count: 10})
		if err != nil || len(page.Resources) != 1 || string(page.Resources[0].Raw) != string(before.Raw) {
			t.Fatalf("ListUsers(userName eq) of the old layout = %+v, %v", page.Resources, err)
		}
		found, err := s.SearchUsers(ctx, org, resources.UserSearch{Terms: [][]resources.Prefix{{{Attr: "name.familyName", Value: "oldf"}}}, Count: 10})
		if err != nil || len(found.Resources) != 1 {
			t.Fatalf("SearchUsers(familyName) of the old layout = %+v, %v", found.Resources, err)
		}

		// The first write moves it to the compact layout and moves its index
		// entries, its lastModified entry among them.
		got.Attributes["name"] = map[string]any{"givenName": "Olga", "familyName": "Newfield"}
		replaced, err := s.ReplaceUser(ctx, org, got, got.Version, resources.UserWrite{})
		if err != nil {
			t.Fatalf("ReplaceUser of the old layout: %v", err)
		}
		h := s.client.HGetAll(ctx, key).Val()
		if layoutOf(h) != "compact" || h["disp"] != "Old@Example.com" || strings.Trim(h["modified"], "0123456789") != "" {
			t.Errorf("after ReplaceUser: fields %q; want the compact layout, disp kept, modified in nanoseconds", h)
		}
		if s.client.ZScore(ctx, p+"ix:user:name.familyName", "oldfield\x00"+u.ID).Err() == nil ||
			s.client.ZScore(ctx, p+"ix:user:name.familyName", "newfield\x00"+u.ID).Err() != nil {
			t.Errorf("after ReplaceUser: the familyName index was not moved")
		}
		reread, err := s.GetUser(ctx, org, u.ID)
		if err != nil || reread.Version != replaced.Version || string(reread.Raw) != string(replaced.Raw) {
			t.Errorf("GetUser after ReplaceUser = %s v%d, %v; want %s v%d", reread.Raw, reread.Version, err, replaced.Raw, replaced.Version)
		}
		clean("replaced")

		// A user whose display is its userName keeps its disp field (a
		// group's add reads it alone).
		low, err := s.CreateUser(ctx, org, user("low@example.com"), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		toLayout(t, ctx, s.client, p+"user:"+low.ID, layout)
		if _, err := s.ReplaceUser(ctx, org, low, low.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser of the old layout: %v", err)
		}
		if h := s.client.HGetAll(ctx, p+"user:"+low.ID).Val(); layoutOf(h) != "compact" || h["disp"] != "low@example.com" {
			t.Errorf("after ReplaceUser: fields %q; want the compact layout with disp", h)
		}
		if err := s.DeleteUser(ctx, org, low.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		clean("replaced and deleted")

		// Deleting a user of the old layout frees every index entry.
		toLayout(t, ctx, s.client, key, layout)
		if err := s.DeleteUser(ctx, org, u.ID, 0); err != nil {
			t.Fatalf("DeleteUser of the old layout: %v", err)
		}
		for _, ix := range s.users.indexes {
			n, err := s.client.ZCard(ctx, p+"ix:user:"+ix.name).Result()
			if err != nil || n != 0 {
				t.Errorf("after DeleteUser: %s holds %d entries, %v", ix.name, n, err)
			}
		}
		if n := s.client.Exists(ctx, key).Val(); n != 0 {
			t.Errorf("after DeleteUser: %s exists", key)
		}
		clean("deleted")
	})
}

// TestUserChunks stores a user whose document grows past many chunks and
// shrinks again: no chunk of the longer one is left, the document reads
// back whole each time, and on Redis the hash keeps its compact encoding.
func TestUserChunks(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key := "scimd:{" + org + "}:user:"
		u, err := s.CreateUser(ctx, org, user("chunky@example.com"), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		key += u.ID
		if !s.Embedded() {
			if enc := s.client.ObjectEncoding(ctx, key).Val(); enc != "listpack" {
				t.Errorf("OBJECT ENCODING of a new user = %q, want listpack", enc)
			}
		}
		for _, size := range []int{700, 0, 130, 64, 63, 1} {
			cur, err := s.GetUser(ctx, org, u.ID)
			if err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if size > 0 {
				cur.Attributes["nickName"] = strings.Repeat("é", size/2)
			} else {
				delete(cur.Attributes, "nickName")
			}
			w, err := s.ReplaceUser(ctx, org, cur, cur.Version, resources.UserWrite{})
			if err != nil {
				t.Fatalf("ReplaceUser (nickName of %d bytes): %v", size, err)
			}
			got, err := s.GetUser(ctx, org, u.ID)
			if err != nil || string(got.Raw) != string(w.Raw) {
				t.Fatalf("GetUser after a document of %d bytes = %s, %v; want %s", len(w.Raw), got.Raw, err, w.Raw)
			}
			h := s.client.HGetAll(ctx, key).Val()
			if layoutOf(h) != "compact" {
				t.Errorf("document of %d bytes: fields %q, want the compact layout only", len(w.Raw), h)
			}
			n := 0
			for ; h[strconv.Itoa(n)] != ""; n++ {
				if c := h[strconv.Itoa(n)]; len(c) != 63 && h[strconv.Itoa(n+1)] != "" {
					t.Errorf("document of %d bytes: chunk %d holds %d bytes, want 63 but the last", len(w.Raw), n, len(c))
				}
			}
			body := joinChunks(h, "")
			doc, ix, _ := strings.Cut(body, "\x00")
			if _, key, err := decodeEntries(ix); err != nil || n != (len(body)+62)/63 || unpackDoc(doc, key) != string(w.Raw) {
				t.Errorf("document of %d bytes: %d chunks holding %q", len(w.Raw), n, body)
			}
		}
		if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("Check found %s", f) }); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}

// TestStoredTimes: the scripts' conversions between a time string and the
// Unix nanoseconds a user's hash stores (luaStoredHash) agree with Go's
// over four centuries of dates (leap days, month and year ends), and
// storedTime reads both forms back.
func TestStoredTimes(t *testing.T) {
	times := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 12, 6, 16, 37, 10, 433919350, time.UTC),
		time.Date(2100, 3, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		times = append(times, time.Unix(0, rng.Int64N(math.MaxInt64)).UTC())
	}
	src := luaStoredHash + `
local out = {}
for i = 1, #ARGV do
  local n = timeNanos(ARGV[i])
  out[#out + 1] = n
  out[#out + 1] = timeString(n)
end
return out`
	eachStore(t, func(t *testing.T, s *Store) {
		args := make([]any, len(times))
		for i, tm := range times {
			args[i] = tm.Format(tsFormat)
		}
		res, err := s.client.Eval(context.Background(), src, []string{"scimd:{" + org + "}:x"}, args...).StringSlice()
		if err != nil {
			t.Fatalf("EVAL: %v", err)
		}
		for i, tm := range times {
			nanos, back := res[2*i], res[2*i+1]
			if want := strconv.FormatInt(tm.UnixNano(), 10); nanos != want {
				t.Errorf("timeNanos(%s) = %s, want %s", args[i], nanos, want)
			}
			if back != args[i] {
				t.Errorf("timeString(timeNanos(%s)) = %s", args[i], back)
			}
			if got := storedTime(nanos); got != args[i] {
				t.Errorf("storedTime(%s) = %s, want %s", nanos, got, args[i])
			}
			if got := storedTime(args[i].(string)); got != args[i] {
				t.Errorf("storedTime(%s) = %s, want it as it is", args[i], got)
			}
		}
	})
}

// TestStoredEntries: index entries stored in their compact form
// (luaStoredHash's encodeEntries) read back the same through the scripts'
// decodeEntries and Go's, with the user's key (the first userName entry's
// value), whatever their attributes and values, and the scripts number the
// attributes as Go does.
func TestStoredEntries(t *testing.T) {
	const uk = "ann@example.com"
	lists := [][]string{
		{},
		{"userName", uk},
		{"userName", uk, "externalId", "e-1", "emails.value", uk, "emails.value", "ann@work.example", "emails.value", "",
			"name.givenName", "ann", "name.familyName", "0#=", "displayName", "=", "active", "true"},
		{"userName#3", "ann", "userName#3", "nn@", "userName#3", "n@e", "name.familyName#3", "ann", "emails.value#3", "ann"},
		{checkURN + ":tier", "gold", checkURN + ":tier", uk, checkURN + ":tier#3", "gol", "userName", uk, "externalId", uk},
		{"active", "false", "userName", "", "externalId", "7", "externalId", "é\x01ü", "displayName", ""},
		{"emails.value", uk, "userName", uk, "userName", "ann", "emails.value", "ann"},
	}
	keys := []string{"", uk, uk, "", uk, "", uk}
	src := luaStoredHash + `
local out = {}
for i = 1, #ARGV do
  local s = encodeEntries(cjson.decode(ARGV[i]))
  local back, key = decodeEntries(s)
  out[#out + 1] = s
  out[#out + 1] = cjson.encode(back)
  out[#out + 1] = key
  out[#out + 1] = entriesKey(cjson.decode(ARGV[i]))
end
return {out, ENTRY_CODES}`
	eachStore(t, func(t *testing.T, s *Store) {
		var args []any
		for _, l := range lists {
			args = append(args, flatJSON(l))
		}
		res, err := s.client.Eval(context.Background(), src, []string{"scimd:{" + org + "}:x"}, args...).Slice()
		if err != nil {
			t.Fatalf("EVAL: %v", err)
		}
		out, _ := res[0].([]any)
		for i, l := range lists {
			compact, _ := out[4*i].(string)
			var back []string
			if raw, _ := out[4*i+1].(string); raw != "{}" { // cjson's empty table
				if err := json.Unmarshal([]byte(raw), &back); err != nil {
					t.Errorf("decodeEntries(%q) = %s: %v", compact, raw, err)
				}
			}
			if !slices.Equal(back, l) && len(l)+len(back) > 0 {
				t.Errorf("decodeEntries(encodeEntries(%q)) = %q", l, back)
			}
			if key, also := out[4*i+2], out[4*i+3]; key != keys[i] || also != keys[i] {
				t.Errorf("decodeEntries(encodeEntries(%q)) key %q, entriesKey %q; want %q", l, key, also, keys[i])
			}
			if got, key, err := decodeEntries(compact); err != nil || !slices.Equal(got, l) || key != keys[i] {
				t.Errorf("Go decodeEntries(encodeEntries(%q)) = %q, key %q, %v; want key %q", l, got, key, err, keys[i])
			}
			if key, err := storedKey(compact); err != nil || key != keys[i] {
				t.Errorf("storedKey(encodeEntries(%q)) = %q, %v; want %q", l, key, err, keys[i])
			}
		}
		if c := out[8].(string); strings.Count(c, uk) != 1 || strings.Contains(c, "emails.value") {
			t.Errorf("encodeEntries(%q) = %q: want its key written once and built-in names left out", lists[2], c)
		}
		// An entry with the key's value before the first userName entry has
		// nothing to refer to: written in full.
		if c := out[24].(string); strings.Count(c, uk) != 2 {
			t.Errorf("encodeEntries(%q) = %q: want the key in full in the first two entries", lists[6], c)
		}
		for _, bad := range []string{"0=", "2=\x000\x00a", "9\x00x", "0"} {
			if got, _, err := decodeEntries(bad); err == nil {
				t.Errorf("Go decodeEntries(%q) = %q, want an error", bad, got)
			}
		}
		codes := fmt.Sprint(res[1])
		if want := fmt.Sprint(entryCodes); codes != want {
			t.Errorf("the scripts' ENTRY_CODES = %s, Go's entryCodes = %s", codes, want)
		}
		// Stored in every user: appended to, never changed.
		if want := "[userName externalId emails.value name.givenName name.familyName displayName active]"; fmt.Sprint(entryCodes[:7]) != want {
			t.Errorf("entryCodes begin %v, want %s", entryCodes[:7], want)
		}
	})
}

// TestUserTimesStored: a new user's hash stores its creation time once, in
// nanoseconds, and no display equal to its unique key; its lastModified is
// its creation time until a change, here joining a group, moves it (hash
// and index); Check agrees at each step and a deletion leaves no entry.
func TestUserTimesStored(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		clean := func(when string) {
			t.Helper()
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("%s: Check found %s", when, f) }); err != nil {
				t.Fatalf("%s: Check: %v", when, err)
			}
		}
		u, err := s.CreateUser(ctx, org, user("tim@example.com"), resources.UserWrite{})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		key := p + "user:" + u.ID
		h := s.client.HGetAll(ctx, key).Val()
		_, hasModified := h["modified"]
		_, hasUK := h["uk"]
		if h["created"] != strconv.FormatInt(u.Created.UnixNano(), 10) || hasModified || hasUK || h["disp"] != "tim@example.com" {
			t.Errorf("a new user's hash %q: want created %d in nanoseconds, no modified, no uk, disp", h, u.Created.UnixNano())
		}
		got, err := s.GetUser(ctx, org, u.ID)
		if err != nil || !got.Created.Equal(u.Created) || !got.Modified.Equal(u.Created) {
			t.Fatalf("GetUser = created %v modified %v, %v; want both %v", got.Created, got.Modified, err, u.Created)
		}
		clean("created")

		if _, err := s.CreateGroup(ctx, org, resources.Resource{Attributes: map[string]any{"displayName": "Timers"}, Members: []resources.Ref{{ID: u.ID}}}); err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		got, err = s.GetUser(ctx, org, u.ID)
		if err != nil || !got.Modified.After(u.Created) || got.Version != 2 {
			t.Fatalf("GetUser after joining a group = modified %v v%d, %v; want after %v, v2", got.Modified, got.Version, err, u.Created)
		}
		entries := s.client.ZRangeByLex(ctx, p+"ix:user:meta.lastModified", &redis.ZRangeBy{Min: "-", Max: "+"}).Val()
		if want := got.Modified.Format(tsFormat) + "\x00" + u.ID; !slices.Equal(entries, []string{want}) {
			t.Errorf("meta.lastModified holds %q, want %q", entries, want)
		}
		clean("joined")

		if err := s.DeleteUser(ctx, org, u.ID, 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		for _, ix := range []string{"meta.created", "meta.lastModified"} {
			if n := s.client.ZCard(ctx, p+"ix:user:"+ix).Val(); n != 0 {
				t.Errorf("after DeleteUser: %s holds %d entries", ix, n)
			}
		}
		clean("deleted")
	})
}

// TestStoredDocument: a user's document is stored without repeating its
// unique key (luaStoredHash's packDoc) and reads back byte for byte, by id
// (Go) and by userName (the scripts), whatever the key holds.
func TestStoredDocument(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		for _, name := range []string{"pat@example.com", "Pat.Mixed@Example.com", "100%+a.b*c$@example.com", "x", "ctl\x01key@example.com"} {
			uk := strings.ToLower(name)
			u, err := s.CreateUser(ctx, org, user(name, "externalId", uk+uk, "nickName", "%1 "+uk,
				"emails", []any{map[string]any{"value": uk, "primary": true}}), resources.UserWrite{})
			if err != nil {
				t.Fatalf("CreateUser(%q): %v", name, err)
			}
			doc, _, _ := strings.Cut(joinChunks(s.client.HGetAll(ctx, p+"user:"+u.ID).Val(), ""), "\x00")
			if uk != "x" && !strings.Contains(name, "\x01") && strings.Contains(doc, uk) {
				t.Errorf("user %q: the stored document %q repeats its unique key", name, doc)
			}
			got, err := s.GetUser(ctx, org, u.ID)
			if err != nil || string(got.Raw) != string(u.Raw) {
				t.Errorf("GetUser(%q) = %s, %v; want %s", name, got.Raw, err, u.Raw)
			}
			f, err := resources.ParseFilter(schemas.Users(), `userName eq "`+strings.ReplaceAll(name, "\x01", `\u0001`)+`"`, "")
			if err != nil {
				t.Fatal(err)
			}
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: f, StartIndex: 1, Count: 10})
			if err != nil || len(page.Resources) != 1 || string(page.Resources[0].Raw) != string(u.Raw) {
				t.Errorf("ListUsers(userName eq %q) = %+v, %v; want %s", name, page.Resources, err, u.Raw)
			}
		}
		if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("Check found %s", f) }); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}

// TestOldLayoutSwept: the substring sweeps rewrite the index entries of
// users in the layouts of earlier versions: turned on, each gets its
// trigram entries and the compact layout; turned off, it loses them
// (and is compact) again.
// Check finds nothing at each step.
func TestOldLayoutSwept(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		p := "scimd:{" + org + "}:"
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, layout := range oldLayouts {
			u, err := s.CreateUser(ctx, org, user(layout+"@example.com", "name", map[string]any{"familyName": "Layout"}), resources.UserWrite{})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			toLayout(t, ctx, s.client, p+"user:"+u.ID, layout)
			ids[layout] = u.ID
		}
		clean := func(when string) {
			t.Helper()
			if _, err := s.Check(ctx, org, func(f Finding) { t.Errorf("%s: Check found %s", when, f) }); err != nil {
				t.Fatalf("%s: Check: %v", when, err)
			}
		}
		clean("old layouts")
		for _, on := range []bool{true, false} {
			var attrs []string
			if on {
				attrs = []string{"name.familyName"}
			}
			for layout, id := range ids {
				toLayout(t, ctx, s.client, p+"user:"+id, layout)
			}
			if _, err := s.SetSubstringSearch(ctx, org, attrs); err != nil {
				t.Fatalf("SetSubstringSearch(%v): %v", attrs, err)
			}
			for layout, id := range ids {
				h := s.client.HGetAll(ctx, p+"user:"+id).Val()
				ix := storedUserField(t, h, "ix")
				if layoutOf(h) != "compact" || strings.Contains(ix, "name.familyName#3") != on {
					t.Errorf("a user of the %s layout after SetSubstringSearch(%v): fields %q, entries %s", layout, attrs, h, ix)
				}
			}
			clean(fmt.Sprintf("substring search %v", attrs))
		}
	})
}
