package scim

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/scimd/scimd/resources"
)

// Cursor pagination (RFC 9865).
//
// A cursor is a keyset position: where the last (nextCursor) or first
// (previousCursor) resource of a page stands in the query's order (see
// [resources.Position]), so a walk returns every resource that stays
// unchanged during it exactly once, whatever is created or deleted
// meanwhile, and the store seeks to it instead of counting an offset.
//
// A cursor is sealed, not stored: the position and the time it was issued,
// encrypted and authenticated (XChaCha20-Poly1305, random 192-bit nonces)
// with a fingerprint of the query (organization, endpoint, filter, sortBy,
// sortOrder) as additional data, under a secret the store keeps for every
// replica ([cursorKeys]). So a client cannot forge or read a position (a
// sort key may be an email address, and URLs end up in proxies' logs), a
// cursor used with another query or organization is invalidCursor, any
// replica sharing the store accepts it, and paging costs no write and no
// memory per cursor (RFC 9865 §5.4). Its age is checked against
// cursorTimeout.

// DefaultCursorTimeout is how long a cursor stays valid when [Config] gives
// no CursorTimeout: the cursorTimeout of /ServiceProviderConfig.
const DefaultCursorTimeout = time.Hour

// maxCursorLen bounds the cursors decoded: the longest this server issues.
// A position holds a sort key (a value a request body of at most maxBody
// bytes set: a long displayName makes a long cursor, which the server must
// take back), an id and a few numbers.
func maxCursorLen(maxBody int64) int {
	return base64.RawURLEncoding.EncodedLen(int(min(maxBody, 1<<30)) + 1024)
}

// cursorKeys is the store that keeps the secret sealing cursors, shared by
// every replica. Without one (a store that is not shared), each process
// makes its own.
type cursorKeys interface {
	CursorKey(ctx context.Context) ([]byte, error)
}

// cursorSigner seals and opens cursors with the secret, read from the
// store once.
type cursorSigner struct {
	store cursorKeys // nil: a key of this process
	mu    sync.Mutex
	aead  cipher.AEAD
}

func (c *cursorSigner) cipher(ctx context.Context) (cipher.AEAD, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aead != nil {
		return c.aead, nil
	}
	var secret []byte
	if c.store == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("cursor key: %w", err)
		}
	} else {
		var err error
		if secret, err = c.store.CursorKey(ctx); err != nil {
			return nil, err
		}
	}
	key := sha256.Sum256(append([]byte("scimd cursor key\x00"), secret...))
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	c.aead = aead
	return aead, nil
}

// cursorParams completes the parameters of a cursor-paged request: it may
// not name a startIndex, and its count must be an integer up to MaxCount
// (RFC 9865 §2.1, invalidCount); 0 asks for totalResults alone, and a
// negative count is 0 (RFC 9865 §2); no count is DefaultCount.
func (h *Handler) cursorParams(p listParams, hasStartIndex, hasCount bool, count string) (listParams, error) {
	if hasStartIndex {
		return listParams{}, resources.Errorf(resources.InvalidValue,
			"startIndex and cursor choose two ways of paging: send cursor (empty for the first page, then nextCursor or previousCursor) without startIndex, or startIndex without cursor")
	}
	p.startIndex, p.count = 0, h.cfg.DefaultCount
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n > h.cfg.MaxCount {
			return listParams{}, resources.Errorf(resources.InvalidCount,
				"count must be an integer from 0 to %d (maxPageSize) with a cursor, got %q", h.cfg.MaxCount, count)
		}
		p.count = max(n, 0)
	}
	if len(*p.cursor) > maxCursorLen(h.cfg.MaxBodyBytes) {
		return listParams{}, invalidCursor()
	}
	return p, nil
}

func invalidCursor() error {
	return resources.Errorf(resources.InvalidCursor,
		"the cursor is not one this server issued for this query: send an empty cursor for the first page, then the nextCursor or previousCursor of a response, with the same filter, sortBy and sortOrder")
}

// cursor is a decoded cursor: the page after From, or before it.
type cursor struct {
	issued time.Time
	seek   resources.Seek
}

// The cursor's encoding: version, flags, issue time (Unix seconds), then,
// with flagPosition, the position's Seq, ID and, with flagKey, Key; sealed
// (nonce, ciphertext, tag); base64url without padding (RFC 9865 §2:
// unreserved characters only).
const cursorVersion = 1

// Cursor flags.
const (
	flagBefore = 1 << iota
	flagPosition
	flagKey
)

// fingerprint names the query a cursor belongs to: what orders and selects
// its results. The count and the projection may change from page to page.
func fingerprint(org, scope string, p listParams) []byte {
	order := strings.ToLower(strings.TrimSpace(p.sortOrder))
	if order == "" {
		order = "ascending"
	}
	h := sha256.New()
	for _, s := range []string{"scimd cursor", org, scope, strings.TrimSpace(p.filter), strings.ToLower(strings.TrimSpace(p.sortBy)), order} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// encodeCursor returns the cursor of the page after (or, before, before) at.
func encodeCursor(aead cipher.AEAD, fp []byte, now time.Time, at *resources.Position, before bool) string {
	b := []byte{cursorVersion, 0}
	if before {
		b[1] |= flagBefore
	}
	b = binary.AppendVarint(b, now.Unix())
	if at != nil {
		b[1] |= flagPosition
		b = binary.AppendVarint(b, at.Seq)
		b = binary.AppendUvarint(b, uint64(len(at.ID)))
		b = append(b, at.ID...)
		if at.HasKey {
			b[1] |= flagKey
			b = binary.AppendUvarint(b, uint64(len(at.Key)))
			b = append(b, at.Key...)
		}
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(b)+aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, b, fp))
}

// decodeCursor opens a cursor sealed for the query's fingerprint and
// decodes it; "" is the first page.
func decodeCursor(aead cipher.AEAD, fp []byte, s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < aead.NonceSize()+aead.Overhead()+2 {
		return cursor{}, invalidCursor()
	}
	payload, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], fp)
	if err != nil || len(payload) < 2 || payload[0] != cursorVersion {
		return cursor{}, invalidCursor()
	}
	flags, rest := payload[1], payload[2:]
	var c cursor
	c.seek.Before = flags&flagBefore != 0
	issued, n := binary.Varint(rest)
	if n <= 0 {
		return cursor{}, invalidCursor()
	}
	rest = rest[n:]
	c.issued = time.Unix(issued, 0)
	if flags&flagPosition != 0 {
		var at resources.Position
		if at.Seq, n = binary.Varint(rest); n <= 0 {
			return cursor{}, invalidCursor()
		}
		rest = rest[n:]
		var ok bool
		if at.ID, rest, ok = readString(rest); !ok {
			return cursor{}, invalidCursor()
		}
		if flags&flagKey != 0 {
			at.HasKey = true
			if at.Key, rest, ok = readString(rest); !ok {
				return cursor{}, invalidCursor()
			}
		}
		c.seek.From = &at
	}
	if len(rest) != 0 {
		return cursor{}, invalidCursor()
	}
	return c, nil
}

func readString(b []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, false
	}
	return string(b[n : n+int(l)]), b[n+int(l):], true
}

// positioned is a resource of a cursor page and its position.
type positioned struct {
	item listItem
	at   resources.Position
}

// readCursorPages reads each resource type's page of count next to seek's
// position: the resources with their positions, the sum of the totals,
// and whether any type has more after or before the page.
func readCursorPages(ctx context.Context, org string, tqs []typedQuery, seek resources.Seek, count int) (all []positioned, total int, hasNext, hasPrevious bool, err error) {
	for _, tq := range tqs {
		q := tq.q
		q.StartIndex, q.Count, q.Seek = 1, count, &seek
		page, err := tq.e.list(ctx, org, q)
		if err != nil {
			return nil, 0, false, false, err
		}
		total += page.Total
		if len(page.Positions) != len(page.Resources) {
			return nil, 0, false, false, fmt.Errorf("list %s: the store returned no positions for a cursor query", tq.e.rt.Name)
		}
		for i, res := range page.Resources {
			all = append(all, positioned{listItem{tq.e, res}, page.Positions[i]})
		}
		hasNext = hasNext || page.Next
		hasPrevious = hasPrevious || page.Previous
	}
	return all, total, hasNext, hasPrevious, nil
}

// writeCursorList answers a cursor-paged list or search (RFC 9865): each
// resource type's page next to the cursor's position, merged in the order
// of positions when the query is across types.
func (h *Handler) writeCursorList(w http.ResponseWriter, r *http.Request, tqs []typedQuery, p listParams) error {
	ctx := r.Context()
	org := principal(ctx).Org
	scope := "/"
	if !p.acrossTypes {
		scope = tqs[0].e.rt.Endpoint
	}
	aead, err := h.cursors.cipher(ctx)
	if err != nil {
		return err
	}
	fp := fingerprint(org, scope, p)
	c, err := decodeCursor(aead, fp, *p.cursor)
	if err != nil {
		return err
	}
	now := time.Now()
	// The issue time is kept in whole seconds, up to one before the real
	// one: the cursor expires only when it is surely older than
	// cursorTimeout, the minimum RFC 9865 §4 promises.
	if *p.cursor != "" && now.Sub(c.issued) > h.cfg.CursorTimeout+time.Second {
		return resources.Errorf(resources.ExpiredCursor,
			"the cursor has expired: it is more than %d seconds old (cursorTimeout); start again with an empty cursor", int(h.cfg.CursorTimeout/time.Second))
	}
	var order *resources.Sort
	for _, tq := range tqs {
		if tq.q.Sort != nil {
			order = tq.q.Sort
		}
	}
	if order != nil && slices.ContainsFunc(tqs, func(tq typedQuery) bool { return tq.q.Sort == nil }) {
		return resources.Errorf(resources.InvalidValue,
			"a cursor query across resource types sorts by an attribute that every type has; %q is not one: query /Users or /Groups", p.sortBy)
	}
	// Across types, pages are merged by position: in creation order, the
	// one order whose positions compare across types, unless sorted.
	c.seek.ByCreation = p.acrossTypes
	all, total, hasNext, hasPrevious, err := readCursorPages(ctx, org, tqs, c.seek, p.count)
	// A previous page whose every resource was deleted between the store's
	// read of their positions and of their documents comes back empty with
	// more before it, and its nextCursor could only start from the
	// beginning: it is read again (the deleted are out of the indexes now),
	// twice at most.
	for retry := 0; retry < 2 && len(all) == 0 && c.seek.Before && hasPrevious && p.count > 0 && err == nil; retry++ {
		all, total, hasNext, hasPrevious, err = readCursorPages(ctx, org, tqs, c.seek, p.count)
	}
	if err != nil {
		return err
	}
	lp := listPage{total: total}
	if len(tqs) > 1 {
		slices.SortStableFunc(all, func(a, b positioned) int { return resources.ComparePositions(order, a.at, b.at) })
	}
	if len(all) > p.count { // across types: more than a page, in the direction read
		if c.seek.Before {
			all, hasPrevious = all[len(all)-p.count:], true
		} else {
			all, hasNext = all[:p.count], true
		}
	}
	for _, x := range all {
		lp.items = append(lp.items, x.item)
	}
	// nextCursor: after the page's last resource; for an empty previous page
	// (nothing before its position), from the start; for an empty next page
	// with more after it (its resources deleted between the store's read of
	// their positions and of their documents), after the same position
	// again, not from the start: the walk goes on past them.
	// previousCursor: before the page's first resource, or before the
	// position of an empty page.
	if hasNext {
		var at *resources.Position
		switch {
		case len(all) > 0:
			at = &all[len(all)-1].at
		case !c.seek.Before:
			at = c.seek.From
		}
		lp.next = encodeCursor(aead, fp, now, at, false)
	}
	if hasPrevious {
		at := c.seek.From
		if len(all) > 0 {
			at = &all[0].at
		}
		lp.previous = encodeCursor(aead, fp, now, at, true)
	}
	return writeListResponse(w, lp, p.proj)
}
