package scim_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/scim"
)

// seedUsers creates n users named prefix<i>@example.com through the store's
// batch write, and returns their ids in creation order.
func seedUsers(tb testing.TB, a *api, org, prefix string, n int, attrs func(i int) map[string]any) []string {
	tb.Helper()
	// One pipeline per batch: the embedded store answers a batch within its
	// 1 s read timeout only when it is small.
	batch := 500
	if a.url == "" {
		batch = 20
	}
	var ids []string
	for from := 0; from < n; from += batch {
		var us []resources.Resource
		var ws []resources.UserWrite
		for i := from; i < min(from+batch, n); i++ {
			at := map[string]any{"userName": fmt.Sprintf("%s%05d@example.com", prefix, i), "active": true}
			if attrs != nil {
				for k, v := range attrs(i) {
					at[k] = v
				}
			}
			us = append(us, resources.Resource{Attributes: at})
			ws = append(ws, resources.UserWrite{})
		}
		created, errs, err := a.store.CreateUsers(context.Background(), org, us, ws)
		if err != nil {
			tb.Fatalf("CreateUsers: %v", err)
		}
		for i, e := range errs {
			if e != nil {
				tb.Fatalf("CreateUsers: user %d: %v", from+i, e)
			}
			ids = append(ids, created[i].ID)
		}
	}
	return ids
}

// cursorPage is a decoded cursor page.
type cursorPage struct {
	ids            []string
	total          string
	next, previous string
	resp           response
}

func (a *api) cursorGet(tb testing.TB, path string) cursorPage {
	tb.Helper()
	r := a.do("GET", path, ownerToken, nil).must(tb, 200)
	return decodeCursorPage(r)
}

func decodeCursorPage(r response) cursorPage {
	p := cursorPage{total: str(r.body, "totalResults"), next: str(r.body, "nextCursor"), previous: str(r.body, "previousCursor"), resp: r}
	list, _ := r.body["Resources"].([]any)
	for _, x := range list {
		p.ids = append(p.ids, str(x, "id"))
	}
	return p
}

// walk follows nextCursor from the first page of base (a path with a query
// string, without cursor) to the last page, calling between each page.
func (a *api) walk(tb testing.TB, base string, between func()) []cursorPage {
	tb.Helper()
	var pages []cursorPage
	c := ""
	for range 10000 {
		p := a.cursorGet(tb, base+"&cursor="+url.QueryEscape(c))
		pages = append(pages, p)
		if p.next == "" {
			return pages
		}
		c = p.next
		if between != nil {
			between()
		}
	}
	tb.Fatalf("walk %s: no last page", base)
	return nil
}

func flatten(pages []cursorPage) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p.ids...)
	}
	return out
}

// TestCursorRFCExamples follows RFC 9865 §2 and §3: an empty cursor (as
// "cursor" without a value, and as "cursor=") starts, nextCursor continues,
// the last page has none, previousCursor walks back; POST .search takes
// "cursor" and "count" in its body.
func TestCursorRFCExamples(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		ids := seedUsers(t, a, "acme", "j", 25, nil)
		seedUsers(t, a, "acme", "k", 5, nil)

		first := a.do("GET", "/Users?filter=userName%20sw%20%22J%22&cursor&count=10", ownerToken, nil).must(t, 200)
		p1 := decodeCursorPage(first)
		if p1.total != "25" || len(p1.ids) != 10 || p1.next == "" || p1.previous != "" {
			t.Fatalf("first page: total %s, %d resources, next %q, previous %q; want 25, 10, a next cursor and no previous", p1.total, len(p1.ids), p1.next, p1.previous)
		}
		if _, has := first.body["startIndex"]; has {
			t.Errorf("a cursor page has startIndex: %s", first.raw)
		}
		if str(first.body, "itemsPerPage") != "10" {
			t.Errorf("itemsPerPage = %s, want 10", str(first.body, "itemsPerPage"))
		}
		for _, c := range p1.next {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", c) {
				t.Fatalf("nextCursor %q holds %q, not an RFC 3986 unreserved character", p1.next, c)
			}
		}
		p2 := a.cursorGet(t, "/Users?filter=userName%20sw%20%22J%22&count=10&cursor="+p1.next)
		p3 := a.cursorGet(t, "/Users?filter=userName%20sw%20%22J%22&count=10&cursor="+p2.next)
		if len(p2.ids) != 10 || p2.previous == "" || p2.next == "" || len(p3.ids) != 5 || p3.next != "" || p3.previous == "" {
			t.Fatalf("pages 2, 3: %d and %d resources, next %q / %q, previous %q / %q; want 10 and 5, the last without next", len(p2.ids), len(p3.ids), p2.next, p3.next, p2.previous, p3.previous)
		}
		if got := slices.Concat(p1.ids, p2.ids, p3.ids); !slices.Equal(got, ids) {
			t.Errorf("the walk returned %v, want the users in creation order %v", got, ids)
		}
		back := a.cursorGet(t, "/Users?filter=userName%20sw%20%22J%22&count=10&cursor="+p3.previous)
		if !slices.Equal(back.ids, p2.ids) || back.next == "" {
			t.Errorf("previousCursor of page 3 gave %v (next %q), want page 2 %v", back.ids, back.next, p2.ids)
		}
		back = a.cursorGet(t, "/Users?filter=userName%20sw%20%22J%22&count=10&cursor="+back.previous)
		if !slices.Equal(back.ids, p1.ids) || back.previous != "" {
			t.Errorf("previousCursor of page 2 gave %v (previous %q), want page 1 %v and no previous", back.ids, back.previous, p1.ids)
		}

		// The same query with POST .search, as RFC 9865 §3 shows it.
		sr := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
			"attributes": []string{"displayName", "userName"}, "filter": `userName sw "J"`, "cursor": "", "count": 10}
		s1 := decodeCursorPage(a.do("POST", "/Users/.search", ownerToken, sr).must(t, 200))
		if !slices.Equal(s1.ids, p1.ids) || s1.next == "" {
			t.Fatalf(".search first page = %v, next %q; want %v and a next cursor", s1.ids, s1.next, p1.ids)
		}
		sr["cursor"] = s1.next
		if s2 := decodeCursorPage(a.do("POST", "/Users/.search", ownerToken, sr).must(t, 200)); !slices.Equal(s2.ids, p2.ids) {
			t.Errorf(".search second page = %v, want %v", s2.ids, p2.ids)
		}
		// A cursor of GET /Users serves POST /Users/.search: same query.
		sr["cursor"] = p2.next
		if s3 := decodeCursorPage(a.do("POST", "/Users/.search", ownerToken, sr).must(t, 200)); !slices.Equal(s3.ids, p3.ids) {
			t.Errorf(".search with GET's cursor = %v, want %v", s3.ids, p3.ids)
		}

		// Without a filter or count: all 30, DefaultCount a page.
		all := a.cursorGet(t, "/Users?cursor=")
		if all.total != "30" || len(all.ids) != 30 || all.next != "" {
			t.Errorf("GET /Users?cursor= = total %s, %d resources, next %q; want 30, 30, none", all.total, len(all.ids), all.next)
		}
		// Index paging is unchanged.
		idx := a.do("GET", "/Users?filter=userName%20sw%20%22J%22&startIndex=11&count=10", ownerToken, nil).must(t, 200)
		if str(idx.body, "startIndex") != "11" || decodeCursorPage(idx).next != "" || !slices.Equal(decodeCursorPage(idx).ids, p2.ids) {
			t.Errorf("startIndex=11 page: %s", idx.raw)
		}
	})
}

// TestCursorErrors: RFC 9865 §2.1's errors, and cursors that are forged,
// altered or used with another query are invalidCursor.
func TestCursorErrors(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		seedUsers(t, a, "acme", "e", 5, nil)
		a.do("POST", "/Groups", ownerToken, group("g1")).must(t, 201)
		a.do("POST", "/Groups", ownerToken, group("g2")).must(t, 201)
		next := a.cursorGet(t, "/Users?filter=userName%20sw%20%22e%22&count=2&cursor").next
		if next == "" {
			t.Fatal("no nextCursor")
		}
		altered := []byte(next)
		altered[len(altered)/2] ^= 1
		if altered[len(altered)/2] == '`' || altered[len(altered)/2] == '.' { // keep it base64url
			altered[len(altered)/2] = 'A'
		}
		groupNext := a.cursorGet(t, "/Groups?count=1&cursor").next
		for _, tc := range []struct {
			name, path, token string
		}{
			{"garbage", "/Users?count=2&cursor=not-a-cursor", ownerToken},
			{"altered", "/Users?filter=userName%20sw%20%22e%22&count=2&cursor=" + string(altered), ownerToken},
			{"another filter", "/Users?filter=userName%20sw%20%22f%22&count=2&cursor=" + next, ownerToken},
			{"no filter", "/Users?count=2&cursor=" + next, ownerToken},
			{"sorted", "/Users?filter=userName%20sw%20%22e%22&sortBy=userName&count=2&cursor=" + next, ownerToken},
			{"descending", "/Users?filter=userName%20sw%20%22e%22&sortOrder=descending&count=2&cursor=" + next, ownerToken},
			{"another endpoint", "/Groups?count=2&cursor=" + next, ownerToken},
			{"groups' cursor on users", "/Users?count=1&cursor=" + groupNext, ownerToken},
			{"another organization", "/Users?filter=userName%20sw%20%22e%22&count=2&cursor=" + next, otherToken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a.do("GET", tc.path, tc.token, nil).scimError(t, 400, "invalidCursor", "not one this server issued")
			})
		}
		// A cursor changes nothing about the same query but count.
		if p := a.cursorGet(t, "/Users?filter=userName%20sw%20%22e%22&count=3&cursor="+next); len(p.ids) != 3 {
			t.Errorf("the next page with count=3 has %d resources, want 3", len(p.ids))
		}
		a.do("GET", "/Users?cursor&startIndex=1", ownerToken, nil).scimError(t, 400, "invalidValue", "startIndex and cursor")
		a.do("GET", "/Users?cursor="+next+"&startIndex=3", ownerToken, nil).scimError(t, 400, "invalidValue", "startIndex and cursor")
		for _, c := range []string{"1001", "ten", "1.5"} {
			a.do("GET", "/Users?cursor&count="+c, ownerToken, nil).scimError(t, 400, "invalidCount", "from 0 to 1000")
		}
		sr := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "cursor": "", "startIndex": 1}
		a.do("POST", "/.search", ownerToken, sr).scimError(t, 400, "invalidValue", "startIndex and cursor")
		delete(sr, "startIndex")
		sr["count"] = 1001
		a.do("POST", "/Users/.search", ownerToken, sr).scimError(t, 400, "invalidCount", "from 0 to 1000")
	})
}

// TestCursorCountZero: with a cursor, count 0 (and a negative count, read
// as 0) answers totalResults alone (RFC 9865 §2), on GET and in .search
// bodies, on the first page and on a later one.
func TestCursorCountZero(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		seedUsers(t, a, "acme", "z", 5, nil)
		next := a.cursorGet(t, "/Users?count=2&cursor").next
		for _, path := range []string{"/Users?cursor&count=0", "/Users?cursor&count=-3", "/Users?count=0&cursor=" + next} {
			r := a.do("GET", path, ownerToken, nil).must(t, 200)
			if str(r.body, "totalResults") != "5" || str(r.body, "itemsPerPage") != "0" || len(names(r.body)) != 0 {
				t.Errorf("GET %s = %s, want totalResults 5 and no resources", path, r.raw)
			}
		}
		sr := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "cursor": "", "count": 0}
		if r := a.do("POST", "/Users/.search", ownerToken, sr).must(t, 200); str(r.body, "totalResults") != "5" || len(names(r.body)) != 0 {
			t.Errorf(".search count 0 = %s, want totalResults 5 and no resources", r.raw)
		}
		// Every kind of plan: the totals of startIndex paging, no resources.
		for _, q := range []string{"filter=userName+sw+%22z%22", "filter=userName+sw+%22z%22&sortBy=userName&sortOrder=descending",
			"filter=active+eq+true", "filter=not+(userName+eq+%22nobody%22)", "filter=userName+co+%22z%22+or+title+pr",
			"sortBy=name.familyName", "filter=meta.created+gt+%222000-01-01T00:00:00Z%22"} {
			want := str(a.do("GET", "/Users?count=0&"+q, ownerToken, nil).must(t, 200).body, "totalResults")
			r := a.do("GET", "/Users?cursor&count=0&"+q, ownerToken, nil).must(t, 200)
			if str(r.body, "totalResults") != want || len(names(r.body)) != 0 {
				t.Errorf("GET ?cursor&count=0&%s = %s, want totalResults %s and no resources", q, r.raw, want)
			}
		}
		if r := a.do("GET", "/?cursor&count=0", ownerToken, nil).must(t, 200); len(names(r.body)) != 0 {
			t.Errorf("the root with count 0 = %s, want no resources", r.raw)
		}
	})
}

// TestCursorLongSortKey: a cursor holds its position's sort key; one of
// 3,000 bytes (a long displayName) makes a cursor the server must take
// back, sorted by it and in the members' walk ordered by display.
func TestCursorLongSortKey(t *testing.T) {
	a := newAPI(t, "")
	var ids []string
	for i := range 3 {
		dn := fmt.Sprint(i) + strings.Repeat("名", 1000) // 3,001 bytes
		r := a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("l%d@example.com", i), map[string]any{"displayName": dn})).must(t, 201)
		ids = append(ids, str(r.body, "id"))
	}
	g := a.do("POST", "/Groups", ownerToken, group("big", ids...)).must(t, 201)
	members := "filter=" + url.QueryEscape(`groups.value eq "`+str(g.body, "id")+`"`)
	for _, q := range []string{"sortBy=displayName", members} {
		var walked []string
		c := ""
		for range 5 {
			p := a.cursorGet(t, "/Users?count=1&attributes=userName&"+q+"&cursor="+url.QueryEscape(c))
			walked = append(walked, p.ids...)
			if c = p.next; c == "" {
				break
			}
		}
		if !slices.Equal(walked, ids) {
			t.Errorf("%s: walked %v, want %v", q, walked, ids)
		}
	}
}

// TestCursorPreviousPageEmptiedByDeletions: a previous page whose every
// resource was deleted while it was read is read again, so the walk goes
// back to what is before it now, and forward from there to the page it
// came from, not to the first page.
func TestCursorPreviousPageEmptiedByDeletions(t *testing.T) {
	a, st, ids := emptyingAPI(t)
	p1 := a.cursorGet(t, "/Users?count=2&cursor")
	p2 := a.cursorGet(t, "/Users?count=2&cursor="+url.QueryEscape(p1.next))
	p3 := a.cursorGet(t, "/Users?count=2&cursor="+url.QueryEscape(p2.next))
	st.armed = true // u2 and u3 are deleted as the page before p3 is read
	back := a.cursorGet(t, "/Users?count=2&cursor="+url.QueryEscape(p3.previous))
	if !slices.Equal(back.ids, ids[:2]) || back.next == "" {
		t.Fatalf("the page before p3 = %v, next %q; want u0 and u1 %v, and a nextCursor", back.ids, back.next, ids[:2])
	}
	if fwd := a.cursorGet(t, "/Users?count=2&cursor="+url.QueryEscape(back.next)); !slices.Equal(fwd.ids, p3.ids) {
		t.Errorf("the page after it = %v, want p3 %v", fwd.ids, p3.ids)
	}
}

// TestCursorNotExpiredEarly: cursorTimeout is the minimum a cursor stays
// valid (RFC 9865 §4): one issued late in a second and used 1.3 s later,
// with a timeout of 2 s, is still taken.
func TestCursorNotExpiredEarly(t *testing.T) {
	a := newAPI(t, "", func(c *scim.Config) { c.CursorTimeout = 2 * time.Second })
	seedUsers(t, a, "acme", "x", 3, nil)
	for f := time.Now().Nanosecond(); f < 800e6 || f >= 850e6; f = time.Now().Nanosecond() {
		time.Sleep(5 * time.Millisecond)
	}
	issued := time.Now()
	next := a.cursorGet(t, "/Users?count=1&cursor").next
	time.Sleep(time.Until(issued.Add(1300 * time.Millisecond)))
	a.do("GET", "/Users?count=1&cursor="+url.QueryEscape(next), ownerToken, nil).must(t, 200)
}

// TestCursorExpired: a cursor older than cursorTimeout is expiredCursor;
// its issue time is kept in seconds, so it expires a second after that at
// most, never before.
func TestCursorExpired(t *testing.T) {
	a := newAPI(t, "", func(c *scim.Config) { c.CursorTimeout = time.Nanosecond })
	seedUsers(t, a, "acme", "x", 3, nil)
	next := a.cursorGet(t, "/Users?count=1&cursor").next
	time.Sleep(1100 * time.Millisecond)
	a.do("GET", "/Users?count=1&cursor="+next, ownerToken, nil).scimError(t, 400, "expiredCursor", "cursorTimeout")
	spc := a.do("GET", "/ServiceProviderConfig", ownerToken, nil).must(t, 200)
	if got := str(spc.body, "pagination", "cursorTimeout"); got != "0" {
		t.Errorf("cursorTimeout = %s, want 0 (seconds) for a timeout of 1 ns", got)
	}
}

// TestCursorServiceProviderConfig: RFC 9865 §4's pagination block.
func TestCursorServiceProviderConfig(t *testing.T) {
	a := newAPI(t, "")
	spc := a.do("GET", "/ServiceProviderConfig", ownerToken, nil).must(t, 200)
	for path, want := range map[string]string{"cursor": "true", "index": "true", "defaultPaginationMethod": "index",
		"defaultPageSize": "100", "maxPageSize": "1000", "cursorTimeout": "3600"} {
		if got := str(spc.body, "pagination", path); got != want {
			t.Errorf("pagination.%s = %s, want %s", path, got, want)
		}
	}
}

// TestCursorSorted walks sorted queries forward and back: by an index that
// orders every user (userName), by one that does not (name.familyName, some
// users have none), descending, and filtered; each returns what index
// paging returns, as a set, in the order RFC 7644 §3.4.2.3 gives (ties by
// id).
func TestCursorSorted(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		seedUsers(t, a, "acme", "s", 40, func(i int) map[string]any {
			if i%5 == 0 {
				return nil // no name: sorts last ascending, first descending
			}
			return map[string]any{"name": map[string]any{"familyName": fmt.Sprintf("F%d", i%7)}}
		})
		for _, q := range []string{
			"sortBy=userName", "sortBy=userName&sortOrder=descending",
			"sortBy=name.familyName", "sortBy=name.familyName&sortOrder=descending",
			"sortBy=userName&filter=userName%20sw%20%22s0001%22",
			"sortBy=name.familyName&filter=active%20eq%20true",
			"sortBy=meta.created&sortOrder=descending",
		} {
			t.Run(q, func(t *testing.T) {
				pages := a.walk(t, "/Users?count=7&"+q, nil)
				got := flatten(pages)
				idx := decodeCursorPage(a.do("GET", "/Users?count=1000&"+q, ownerToken, nil).must(t, 200))
				if !sameSet(got, idx.ids) || len(got) != len(idx.ids) {
					t.Fatalf("cursor walk returned %d users, index paging %d: %v vs %v", len(got), len(idx.ids), got, idx.ids)
				}
				// Sorted as index paging sorts, up to the order of ties.
				keys := map[string]string{}
				list, _ := idx.resp.body["Resources"].([]any)
				attr := strings.TrimPrefix(strings.Split(q, "&")[0], "sortBy=")
				for _, r := range list {
					keys[str(r, "id")] = str(r, pathOf(attr)...)
				}
				for i := range got {
					if keys[got[i]] != keys[idx.ids[i]] {
						t.Fatalf("walk out of order at %d: %q, index paging has %q", i, keys[got[i]], keys[idx.ids[i]])
					}
				}
				// Back from the last page to the first.
				var back []string
				prev := pages[len(pages)-1].previous
				for prev != "" {
					p := a.cursorGet(t, "/Users?count=7&"+q+"&cursor="+prev)
					back = append(p.ids, back...)
					prev = p.previous
				}
				if want := got[:len(got)-len(pages[len(pages)-1].ids)]; !slices.Equal(back, want) {
					t.Errorf("walking back gave %v, want %v", back, want)
				}
			})
		}
	})
}

func pathOf(attr string) []any {
	var out []any
	for _, s := range strings.Split(attr, ".") {
		out = append(out, s)
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// TestCursorAcrossTypes: a cursor query on the service root walks users and
// groups, each once, by their positions: groups by their creation
// sequence, then users by their creation time (the users' ordering set is
// scored by it, the groups' by the sequence); sorted by an attribute both
// have, in its order.
func TestCursorAcrossTypes(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		var users, groups []string
		for i := range 6 {
			u := a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("r%d@example.com", i), map[string]any{"displayName": fmt.Sprintf("D%d", 9-i)})).must(t, 201)
			g := a.do("POST", "/Groups", ownerToken, group(fmt.Sprintf("D%d", i))).must(t, 201)
			users, groups = append(users, str(u.body, "id")), append(groups, str(g.body, "id"))
		}
		want := append(groups, users...)
		if got := flatten(a.walk(t, "/?count=5", nil)); !slices.Equal(got, want) {
			t.Errorf("root walk = %v, want %v", got, want)
		}
		sorted := flatten(a.walk(t, "/?count=5&sortBy=displayName", nil))
		idx := decodeCursorPage(a.do("GET", "/?count=100&sortBy=displayName", ownerToken, nil).must(t, 200))
		names := map[string]string{}
		for _, r := range idx.resp.body["Resources"].([]any) {
			names[str(r, "id")] = str(r, "displayName")
		}
		for i := range sorted {
			if names[sorted[i]] != names[idx.ids[i]] {
				t.Fatalf("sorted root walk has %q at %d, index paging %q", names[sorted[i]], i, names[idx.ids[i]])
			}
		}
		a.do("GET", "/?cursor&sortBy=userName", ownerToken, nil).scimError(t, 400, "invalidValue", "every type has")
	})
}

// TestCursorWalkUnderWrites: a walk by cursor over a few thousand users,
// while another client creates users and deletes others, returns each user
// that stays unchanged exactly once (keyset paging: no offset shifts). The
// writer runs alongside the walk; between two pages the walk waits until it
// has written a few times, so that every page sees changes.
func TestCursorWalkUnderWrites(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		// The embedded store's scripts cost more the more users it holds
		// (3000 take it minutes): a few hundred there, thousands on Redis.
		n := 3000
		if a.url == "" {
			n = 600
		}
		ids := seedUsers(t, a, "acme", "w", n, nil)
		for round, q := range []string{"", "&sortBy=userName", "&sortBy=userName&sortOrder=descending", "&filter=active%20eq%20true"} {
			t.Run(strings.TrimPrefix(q, "&"), func(t *testing.T) {
				ctx := context.Background()
				// A third of the users is deleted during the walk.
				doomed := map[string]bool{}
				var queue []string
				for i := 0; i < len(ids); i += 3 {
					doomed[ids[i]] = true
					queue = append(queue, ids[i])
				}
				ops := make(chan struct{})
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						for j := range 7 {
							if len(queue) > 0 {
								if err := a.store.DeleteUser(ctx, "acme", queue[0], 0); err != nil {
									t.Errorf("DeleteUser: %v", err)
								}
								queue = queue[1:]
							}
							// New users land before, among and after the others in every order.
							name := fmt.Sprintf("w%05d-new%d-%d@example.com", (i*7+j)*37%n, round, i*7+j)
							if _, err := a.store.CreateUser(ctx, "acme", resources.Resource{Attributes: map[string]any{"userName": name, "active": true}}, resources.UserWrite{}); err != nil {
								t.Errorf("CreateUser: %v", err)
							}
						}
						select {
						case ops <- struct{}{}:
						case <-stop:
							return
						}
					}
				}()
				finish := sync.OnceFunc(func() { close(stop); wg.Wait() })
				t.Cleanup(finish) // a failed walk stops the writer too
				// Between two pages, the writer writes 5 times; it writes once
				// more during the next page's read.
				between := func() {
					for range 5 {
						<-ops
					}
				}
				seen := map[string]int{}
				for _, id := range flatten(a.walk(t, "/Users?count=97"+q, between)) {
					seen[id]++
				}
				finish()
				for id, c := range seen {
					if c > 1 {
						t.Errorf("user %s returned %d times", id, c)
					}
				}
				for _, id := range ids {
					if !doomed[id] && seen[id] != 1 {
						t.Errorf("unchanged user %s returned %d times, want once", id, seen[id])
					}
				}
				for _, id := range queue { // not deleted in time: deleted now
					if err := a.store.DeleteUser(ctx, "acme", id, 0); err != nil {
						t.Errorf("DeleteUser: %v", err)
					}
				}
				ids = slices.DeleteFunc(ids, func(id string) bool { return doomed[id] })
			})
		}
	})
}

// TestCursorGroupMembers: a large group's members are paged through /Users
// with filter=groups.value eq "<id>" and a cursor, answered from the
// group's member set.
func TestCursorGroupMembers(t *testing.T) {
	stores(t, func(t *testing.T, a *api) {
		ids := seedUsers(t, a, "acme", "m", 260, nil)
		g := a.do("POST", "/Groups", ownerToken, group("big", ids[:250]...)).must(t, 201)
		gid := str(g.body, "id")
		filter := url.QueryEscape(`groups.value eq "` + gid + `"`)
		pages := a.walk(t, "/Users?count=100&filter="+filter, nil)
		if len(pages) != 3 || pages[0].total != "250" {
			t.Fatalf("%d pages, totalResults %s; want 3 pages of 250", len(pages), pages[0].total)
		}
		if got := flatten(pages); !slices.Equal(got, ids[:250]) {
			t.Errorf("members walk = %d users, want the 250 members in creation order", len(got))
		}
		// Index paging and the other spellings agree.
		idx := decodeCursorPage(a.do("GET", "/Users?startIndex=201&count=100&filter="+filter, ownerToken, nil).must(t, 200))
		if !slices.Equal(idx.ids, ids[200:250]) {
			t.Errorf("startIndex=201 = %v, want the last 50 members", idx.ids)
		}
		for _, f := range []string{`groups eq "` + gid + `"`, `groups[value eq "` + gid + `"]`, `urn:ietf:params:scim:schemas:core:2.0:User:groups.value eq "` + gid + `"`} {
			p := decodeCursorPage(a.do("GET", "/Users?count=1000&filter="+url.QueryEscape(f), ownerToken, nil).must(t, 200))
			if p.total != "250" {
				t.Errorf("filter %s: totalResults %s, want 250", f, p.total)
			}
		}
		if p := decodeCursorPage(a.do("GET", "/Users?count=10&filter="+url.QueryEscape(`groups.value eq "nope"`), ownerToken, nil).must(t, 200)); p.total != "0" {
			t.Errorf("an unknown group has %s members, want 0", p.total)
		}
	})
}

// emptyingStore, once armed, deletes every user of the next cursor page it
// reads and returns the page without them, with its Next: what the store
// answers when the deletions land between its read of the page's positions
// and of their documents.
type emptyingStore struct {
	*backend.Store
	armed bool
}

func (e *emptyingStore) ListUsers(ctx context.Context, org string, q resources.Query) (resources.Page, error) {
	page, err := e.Store.ListUsers(ctx, org, q)
	if err != nil || !e.armed || q.Seek == nil {
		return page, err
	}
	e.armed = false
	for _, u := range page.Resources {
		if err := e.Store.DeleteUser(ctx, org, u.ID, 0); err != nil {
			return page, err
		}
	}
	page.Resources, page.Positions = []resources.Resource{}, []resources.Position{}
	return page, nil
}

// emptyingAPI is an API on an [emptyingStore], not armed, with six users
// u0…u5, whose ids it returns in creation order.
func emptyingAPI(t *testing.T) (*api, *emptyingStore, []string) {
	st := &emptyingStore{}
	a := newAPIWith(t, "", storeWrap{users: func(s *backend.Store) resources.UserStore { st.Store = s; return st }})
	var ids []string
	for i := range 6 {
		r := a.do("POST", "/Users", ownerToken, user(fmt.Sprintf("u%d@example.com", i), nil)).must(t, 201)
		ids = append(ids, str(r.body, "id"))
	}
	return a, st, ids
}

// TestCursorPageEmptiedByDeletions: a page whose every resource was deleted
// while it was read is empty, and its nextCursor goes on after the same
// position: the walk does not start again, and returns every other user
// once.
func TestCursorPageEmptiedByDeletions(t *testing.T) {
	a, st, ids := emptyingAPI(t)
	var walked []string
	c := ""
	for page := 0; page < 10; page++ {
		st.armed = page == 1 // the second page: u2 and u3, deleted as it is read
		p := a.cursorGet(t, "/Users?count=2&cursor="+url.QueryEscape(c))
		if page == 1 && (len(p.ids) != 0 || p.next == "") {
			t.Fatalf("the emptied page = %v, nextCursor %q; want none, and a nextCursor", p.ids, p.next)
		}
		walked = append(walked, p.ids...)
		if p.next == "" {
			break
		}
		c = p.next
	}
	want := []string{ids[0], ids[1], ids[4], ids[5]}
	if !slices.Equal(walked, want) {
		t.Errorf("walk with a page emptied by deletions = %v, want %v (each user not deleted, once)", walked, want)
	}
}
