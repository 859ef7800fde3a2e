package backend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A user's hash, as Go reads it: the layout is luaStoredHash's (scripts.go),
// which writes it; these readers accept every layout it reads.

// storedUser is a user's hash with every field whole, whatever its layout:
// ver ("" when the user does not exist), the document, the index entries
// (a JSON flat list attr, value, ...), uk (an earlier layout's key of the
// uniqueness hash userNames once had, see legacyKeys), the display, the
// times (tsFormat) and uq.
type storedUser struct {
	ver, doc, ix, uk, disp, created, modified, uq string
	// hasDoc: the hash holds a document.
	hasDoc bool
}

// readStoredUser reads a user's hash h (HGETALL), as luaStoredHash's
// readHash does; ix is left "" unless entries is set.
func readStoredUser(h map[string]string, entries bool) (storedUser, error) {
	u := storedUser{ver: h["ver"], uk: h["uk"], disp: h["disp"], uq: h["uq"]}
	u.created = storedTime(h["created"])
	u.modified = u.created
	if m, ok := h["modified"]; ok {
		u.modified = storedTime(m)
	}
	if _, ok := h["0"]; ok {
		body := joinChunks(h, "")
		doc, compact, _ := strings.Cut(body, "\x00")
		u.hasDoc = true
		if !entries {
			key, _ := storedKey(compact) // entries that do not decode: the document as stored
			u.doc = unpackDoc(doc, key)
			return u, nil
		}
		flat, key, err := decodeEntries(compact)
		if err != nil {
			return u, err
		}
		u.doc, u.ix = unpackDoc(doc, key), flatJSON(flat)
		return u, nil
	}
	if _, ok := h["doc.0"]; ok {
		u.doc, u.hasDoc = joinChunks(h, "doc."), true
	} else {
		u.doc, u.hasDoc = h["doc"]
	}
	if _, ok := h["ix.0"]; ok {
		u.ix = joinChunks(h, "ix.")
	} else {
		u.ix = h["ix"]
	}
	return u, nil
}

// joinChunks joins the fields name0, name1, ... of h.
func joinChunks(h map[string]string, name string) string {
	var b strings.Builder
	for i := 0; ; i++ {
		c, ok := h[name+strconv.Itoa(i)]
		if !ok {
			return b.String()
		}
		b.WriteString(c)
	}
}

// storedTime returns a user's stored time as tsFormat: Unix nanoseconds
// converted, a time string of an older user as it is.
func storedTime(v string) string {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return v
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	return time.Unix(0, n).UTC().Format(tsFormat)
}

// entryCodes are luaStoredHash's ENTRY_CODES: the attributes whose name a
// user's stored index entries hold as their position here. Stored in every
// user: never change or reorder them, only append.
var entryCodes = [...]string{"userName", "externalId", "emails.value", "name.givenName",
	"name.familyName", "displayName", "active"}

// decodeEntries decodes index entries in the compact form of luaStoredHash's
// encodeEntries into a flat list attr, value, ... and the user's key, the
// value of the first userName entry ("" when there is none), which a later
// attribute part ending in "=" stands for.
func decodeEntries(s string) ([]string, string, error) {
	out := []string{}
	if s == "" {
		return out, "", nil
	}
	key, keyed := "", false
	parts := strings.Split(s, "\x00")
	attr := ""
	for i := 0; i < len(parts); {
		part, ref := strings.CutSuffix(parts[i], "=")
		if digits := len(part) - len(strings.TrimLeft(part, "0123456789")); digits > 0 {
			code, err := strconv.Atoi(part[:digits])
			if err != nil || code >= len(entryCodes) {
				return nil, "", fmt.Errorf("index entries: no attribute numbered %q", part[:digits])
			}
			attr = entryCodes[code] + part[digits:]
		} else if part != "" {
			attr = part
		}
		if attr == "" {
			return nil, "", errors.New("index entries: an entry without an attribute")
		}
		if ref {
			if !keyed {
				return nil, "", fmt.Errorf("index entries: attribute %q refers to a userName before one", attr)
			}
			out = append(out, attr, key)
			i++
			continue
		}
		if i+1 >= len(parts) {
			return nil, "", fmt.Errorf("index entries: attribute %q without a value", attr)
		}
		out = append(out, attr, parts[i+1])
		if !keyed && attr == "userName" {
			key, keyed = parts[i+1], true
		}
		i += 2
	}
	return out, key, nil
}

// bodyChunk is the longest field of a user's body (luaStoredHash's CHUNK).
const bodyChunk = 63

// storedBody returns a user's body as luaStoredHash lays it out, for a
// write script to store as it is: the document doc packed (packDoc), NUL,
// the index entries (a flat list attr, value, ...) in their compact form
// (encodeEntries), cut in chunks of at most bodyChunk bytes, which are
// the fields "0", "1", ....
func storedBody(doc []byte, entries []string) ([]string, error) {
	packed, err := packDoc(doc, entriesKey(entries))
	if err != nil {
		return nil, err
	}
	body := string(packed) + "\x00" + encodeEntries(entries)
	chunks := make([]string, 0, len(body)/bodyChunk+1)
	for from := 0; from == 0 || from < len(body); from += bodyChunk {
		chunks = append(chunks, body[from:min(from+bodyChunk, len(body))])
	}
	return chunks, nil
}

// entriesKey returns the user's key of index entries (a flat list attr,
// value, ...): the value of the first userName entry, "" when there is
// none (luaStoredHash's entriesKey).
func entriesKey(entries []string) string {
	for i := 0; i+1 < len(entries); i += 2 {
		if entries[i] == "userName" {
			return entries[i+1]
		}
	}
	return ""
}

// entryCode maps the attributes of entryCodes to their numbers.
var entryCode = func() map[string]string {
	out := make(map[string]string, len(entryCodes))
	for i, name := range entryCodes {
		out[name] = strconv.Itoa(i)
	}
	return out
}()

// encodeEntries returns index entries (a flat list attr, value, ...) in
// their compact form, as luaStoredHash's encodeEntries does (see there).
func encodeEntries(entries []string) string {
	var b strings.Builder
	prev, key, keyed := "", "", false
	for i := 0; i+1 < len(entries); i += 2 {
		attr, value := entries[i], entries[i+1]
		if i > 0 {
			b.WriteByte(0)
		}
		if i == 0 || attr != prev {
			if code, ok := entryCode[attr]; ok {
				b.WriteString(code)
			} else if name, suffix, ok := strings.Cut(attr, "#"); ok && entryCode[name] != "" {
				b.WriteString(entryCode[name])
				b.WriteString("#" + suffix)
			} else {
				b.WriteString(attr)
			}
		}
		prev = attr
		if keyed && value == key {
			b.WriteByte('=')
			continue
		}
		b.WriteByte(0)
		b.WriteString(value)
		if !keyed && attr == "userName" {
			key, keyed = value, true
		}
	}
	return b.String()
}

// storedKey returns the user's key of index entries in their compact form
// (see decodeEntries) without decoding them when, as the write scripts
// are given them (indexEntries), the userName entry comes first: then the
// entries begin with its attribute part, the number 0, and its value.
func storedKey(compact string) (string, error) {
	if rest, ok := strings.CutPrefix(compact, "0\x00"); ok {
		key, _, _ := strings.Cut(rest, "\x00")
		return key, nil
	}
	_, key, err := decodeEntries(compact)
	return key, err
}

// storedFields returns doc, ver, created and modified of a user's hash h
// (nil when absent), as [decode] reads them.
func storedFields(h map[string]string) []any {
	u, _ := readStoredUser(h, false) // without entries, it cannot fail
	vals := make([]any, 4)
	if u.hasDoc {
		vals[0] = u.doc
	}
	for i, v := range []string{u.ver, u.created, u.modified} {
		if v != "" {
			vals[i+1] = v
		}
	}
	return vals
}

// storedUsers reads the hashes of the users ids in one pipeline, with
// their index entries.
func (s *Store) storedUsers(ctx context.Context, p string, ids []string) ([]storedUser, error) {
	out := make([]storedUser, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, p+"user:"+id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis: %w", err)
	}
	for i, c := range cmds {
		u, err := readStoredUser(c.Val(), true)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", ids[i], err)
		}
		out[i] = u
	}
	return out, nil
}
