package backend

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// substringAlphabet mixes cases, ASCII and non-ASCII letters (ß, whose
// upper case is not one letter, and İ, whose lower case is two), so that
// trigrams by characters, folding and caseExact all matter.
var substringAlphabet = []rune("aAbBcCéÉßöÖİ")

func randWord(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(substringAlphabet[r.IntN(len(substringAlphabet))])
	}
	return b.String()
}

// substringUser is a user whose searchable values are random words.
func substringUser(r *rand.Rand, i int) map[string]any {
	return map[string]any{
		"schemas":     []any{schemas.UserURN},
		"userName":    fmt.Sprintf("%s%d@d%d.test", randWord(r, 5), i, r.IntN(1000)),
		"externalId":  randWord(r, 3+r.IntN(6)),
		"displayName": randWord(r, 2+r.IntN(8)),
		"name":        map[string]any{"givenName": randWord(r, 3+r.IntN(6)), "familyName": randWord(r, 1+r.IntN(9))},
		"emails": []any{
			map[string]any{"value": fmt.Sprintf("%s%d@e%d.test", randWord(r, 6), i, r.IntN(1000))},
			map[string]any{"value": fmt.Sprintf("%s@x%d.test", randWord(r, 4), i)},
		},
	}
}

// listFilter runs filter through the store with the organization's type
// as it is now (a service of its own: no cached type) and returns the ids
// of its page of at most 1000.
func listFilter(t *testing.T, s *Store, _ *resources.Users, f string) ([]string, int, error) {
	t.Helper()
	ctx := context.Background()
	rt, err := resources.NewUsers(s).TypeFor(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	e, err := resources.ParseFilter(rt, f, "")
	if err != nil {
		t.Fatalf("ParseFilter(%s): %v", f, err)
	}
	page, err := s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 1000, Type: &rt})
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	for _, r := range page.Resources {
		ids = append(ids, r.ID)
	}
	return ids, page.Total, nil
}

// bruteForce returns the ids of all users that match f, evaluated on each
// document.
func bruteForce(t *testing.T, s *Store, _ *resources.Users, f string) []string {
	t.Helper()
	ctx := context.Background()
	rt, err := resources.NewUsers(s).TypeFor(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	e, err := resources.ParseFilter(rt, f, "")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all.Resources {
		if resources.Match(resources.Document(rt, r, ""), e) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// TestSubstringMatchesBruteForce: co and ew on every attribute that may be
// opted in answer, through the trigram indexes, what a match of every
// document answers, for random values (non-ASCII, mixed case, the
// caseExact externalId); MaxScan below the users' number makes any answer
// that is not the index's fail. Half the users exist before the setting
// (built), half are written after (kept by the writes), some are replaced
// and deleted.
func TestSubstringMatchesBruteForce(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		users := resources.NewUsers(s)
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(7, 12))
		const n = 80
		var ids []string
		create := func(i int) {
			u, err := users.Create(ctx, org, substringUser(r, i))
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			ids = append(ids, u.ID)
		}
		for i := range n / 2 {
			create(i)
		}
		if changed, err := s.SetSubstringSearch(ctx, org, substringAttrs); err != nil || !changed {
			t.Fatalf("SetSubstringSearch = %v, %v", changed, err)
		}
		for i := n / 2; i < n; i++ {
			create(i)
		}
		for i := 0; i < n; i += 9 {
			raw := substringUser(r, 1000+i)
			cur, err := s.GetUser(ctx, org, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			raw["userName"] = cur.Attributes["userName"]
			if _, err := users.Replace(ctx, org, ids[i], raw, 0); err != nil {
				t.Fatalf("Replace: %v", err)
			}
		}
		for i := 4; i < n; i += 13 {
			if err := users.Delete(ctx, org, ids[i], 0); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Fatalf("Check: findings:\n%s", findingLines(got))
		}
		s.MaxScan = n / 2
		paths := []string{"userName", "emails.value", "emails", "name.givenName", "name.familyName", "displayName", "externalId"}
		all, err := s.ListUsers(ctx, org, resources.Query{StartIndex: 1, Count: n})
		if err != nil {
			t.Fatal(err)
		}
		// sameAsBruteForce fails the test unless the ids and total that
		// ListUsers gave for f are what matching every document gives. The
		// order is the plan's (planner.go): compared as sets.
		sameAsBruteForce := func(f string, got []string, total int) {
			t.Helper()
			want := bruteForce(t, s, users, f)
			got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
			if !slices.Equal(got, want) || total != len(want) {
				t.Fatalf("ListUsers(%s) = %d %v, brute force %v", f, total, got, want)
			}
		}
		asked, ors := 0, 0
		for range 300 {
			path := paths[r.IntN(len(paths))]
			var v string
			if r.IntN(4) == 0 {
				v = randWord(r, 3)
			} else {
				doc := all.Resources[r.IntN(len(all.Resources))].Attributes
				src := path
				if path == "emails" {
					src = "emails.value"
				}
				vals := attrValues(doc, src)
				if len(vals) == 0 {
					continue
				}
				word := []rune(vals[r.IntN(len(vals))].(string))
				if len(word) < 3 {
					continue
				}
				from := r.IntN(len(word) - 2)
				to := from + 3 + r.IntN(len(word)-from-2)
				v = string(word[from:to])
				if r.IntN(2) == 0 {
					v = strings.ToUpper(v)
				}
			}
			for _, op := range []string{"co", "ew"} {
				f := fmt.Sprintf("%s %s %q", path, op, v)
				got, total, err := listFilter(t, s, users, f)
				if resources.ErrorCode(err) == resources.TooMany {
					// Right only when even the value's rarest trigram is
					// in more users than a query may check.
					for _, tri := range trigrams(v, map[string]bool{}) {
						if c := len(bruteForce(t, s, users, fmt.Sprintf("%s co %q", path, tri))); c <= s.MaxScan {
							t.Fatalf("ListUsers(%s) = %v, but trigram %q is in only %d users", f, err, tri, c)
						}
					}
					continue
				}
				if err != nil {
					t.Fatalf("ListUsers(%s) through the trigram index: %v", f, err)
				}
				sameAsBruteForce(f, got, total)
				asked++
			}
			// Two 3-character values of one attribute: the "or" of their
			// trigram leaves reads one key in two ranges, where a user
			// holding both trigrams has an entry in each: counted once.
			rs := []rune(v)
			f := fmt.Sprintf("%s co %q or %s co %q", path, string(rs[:3]), path, string(rs[len(rs)-3:]))
			got, total, err := listFilter(t, s, users, f)
			if resources.ErrorCode(err) == resources.TooMany {
				continue // as above: trigrams in more users than a query may check
			}
			if err != nil {
				t.Fatalf("ListUsers(%s) through the trigram index: %v", f, err)
			}
			sameAsBruteForce(f, got, total)
			ors++
		}
		if asked < 250 || ors < 100 {
			t.Fatalf("only %d filters and %d ors asked", asked, ors)
		}
		// Fewer than 3 characters: the bounded scan, which says why it
		// fails.
		_, _, err = listFilter(t, s, users, `name.familyName co "ab"`)
		if resources.ErrorCode(err) != resources.TooMany || !strings.Contains(err.Error(), "at least 3 characters with substringSearch on") {
			t.Fatalf("ListUsers(co with 2 characters) = %v, want tooMany naming substringSearch", err)
		}
	})
}

// TestSubstringBuildAndPurge: enabling the setting on an existing
// population builds its index (a query at a MaxScan below the users'
// number then answers from it), a sweep a stopped server left is resumed
// with the purges, and disabling purges the keys and entries. check is
// clean throughout and reports a broken trigram entry.
func TestSubstringBuildAndPurge(t *testing.T) {
	const p = "scimd:{" + org + "}:"
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		users := resources.NewUsers(s)
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		const n = 450 // more than two sweep batches
		us := make([]resources.Resource, n)
		for i := range us {
			us[i] = resources.Resource{Attributes: map[string]any{"userName": fmt.Sprintf("u%d@example.com", i),
				"name": map[string]any{"familyName": fmt.Sprintf("Family%04d", i)}}}
		}
		if _, errs, err := s.CreateUsers(ctx, org, us, make([]resources.UserWrite, n)); err != nil || errors.Join(errs...) != nil {
			t.Fatalf("CreateUsers: %v %v", err, errors.Join(errs...))
		}
		s.MaxScan = 100
		const f = `name.familyName co "LY0123"`
		if _, _, err := listFilter(t, s, users, f); resources.ErrorCode(err) != resources.TooMany {
			t.Fatalf("ListUsers(%s) before the setting = %v, want tooMany", f, err)
		}
		// The change alone, as a server that stopped before its sweep
		// leaves it: not used by queries, check clean, resumed later.
		if err := s.setSettings.Run(ctx, s, []string{p + "settings", p + "exts:gen"}, p, "test", "0", 10, "1", "name.familyName").Err(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := listFilter(t, s, users, f); resources.ErrorCode(err) != resources.TooMany {
			t.Fatalf("ListUsers(%s) before the build = %v, want tooMany", f, err)
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Fatalf("Check with a pending build: findings:\n%s", findingLines(got))
		}
		if _, err := s.PurgeExtensions(ctx, org); err != nil {
			t.Fatalf("PurgeExtensions (resumes the build): %v", err)
		}
		ids, total, err := listFilter(t, s, users, f)
		if err != nil || total != 1 || len(ids) != 1 {
			t.Fatalf("ListUsers(%s) after the build = %v, %d, %v", f, ids, total, err)
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Fatalf("Check after the build: findings:\n%s", findingLines(got))
		}
		set, err := s.Extensions(ctx, org)
		if err != nil || len(set.SubstringPending) != 0 || !slices.Equal(set.Substring, []string{"name.familyName"}) {
			t.Fatalf("Extensions after the build = %+v, %v", set, err)
		}

		// check reports a trigram entry missing, and one of no user.
		key := p + "ix:user:name.familyName#3"
		snap := snapshot(t, s)
		s.client.ZRem(ctx, key, "y01\x00"+ids[0])
		got, _ := check(t, s)
		if !slices.ContainsFunc(got, func(f Finding) bool { return f.Key == key && f.ID == ids[0] && f.Code == "index-missing" }) {
			t.Errorf("Check of a deleted trigram entry found:\n%s", findingLines(got))
		}
		restore(t, s, snap)
		s.client.ZAdd(ctx, key, redis.Z{Member: "zzz\x00ghost"})
		got, _ = check(t, s)
		if !slices.ContainsFunc(got, func(f Finding) bool { return f.Key == key && f.ID == "ghost" && f.Code == "index-stray" }) {
			t.Errorf("Check of a stray trigram entry found:\n%s", findingLines(got))
		}
		restore(t, s, snap)

		// A bad name: invalidValue naming the allowed ones.
		if _, err := s.SetSubstringSearch(ctx, org, []string{"nickName"}); resources.ErrorCode(err) != resources.InvalidValue ||
			!strings.Contains(err.Error(), strings.Join(substringAttrs, ", ")) {
			t.Fatalf("SetSubstringSearch(nickName) = %v", err)
		}
		// Off: the keys and entries go.
		if changed, err := s.SetSubstringSearch(ctx, org, nil); err != nil || !changed {
			t.Fatalf("SetSubstringSearch(none) = %v, %v", changed, err)
		}
		if n, err := s.client.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Fatalf("EXISTS %s after disabling = %d, %v", key, n, err)
		}
		if ix := storedField(t, ctx, s.client, p+"user:"+ids[0], "ix"); ix == "" || strings.Contains(ix, trigramSuffix) {
			t.Fatalf("ix of a user after disabling = %q, want its entries without trigrams", ix)
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Fatalf("Check after disabling: findings:\n%s", findingLines(got))
		}
		if _, _, err := listFilter(t, s, users, f); resources.ErrorCode(err) != resources.TooMany {
			t.Fatalf("ListUsers(%s) after disabling = %v, want tooMany", f, err)
		}
	})
}

// TestSubstringBuildUnderWrites: users replaced, created and deleted while
// the setting is turned on and its build runs leave check clean.
func TestSubstringBuildUnderWrites(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		users := resources.NewUsers(s)
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		const n = 500
		us := make([]resources.Resource, n)
		for i := range us {
			us[i] = resources.Resource{Attributes: map[string]any{"userName": fmt.Sprintf("w%d@example.com", i),
				"name": map[string]any{"givenName": fmt.Sprintf("Given%d", i)}}}
		}
		created, errs, err := s.CreateUsers(ctx, org, us, make([]resources.UserWrite, n))
		if err != nil || errors.Join(errs...) != nil {
			t.Fatalf("CreateUsers: %v %v", err, errors.Join(errs...))
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writeErr error
		var mu sync.Mutex
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; ; i += 2 {
					select {
					case <-stop:
						return
					default:
					}
					id := created[(i*37)%n].ID
					var err error
					switch i % 5 {
					case 0:
						_, err = users.Create(ctx, org, map[string]any{"schemas": []any{schemas.UserURN},
							"userName": fmt.Sprintf("new%d-%d@example.com", w, i), "name": map[string]any{"givenName": fmt.Sprintf("New%d", i)}})
					case 1:
						err = users.Delete(ctx, org, id, 0)
					default:
						_, err = users.Patch(ctx, org, id, []resources.PatchOp{{Op: "replace", Path: "name.givenName", Value: fmt.Sprintf("Patched%d", i)}}, 0)
					}
					if err != nil && resources.ErrorCode(err) != resources.NotFound {
						mu.Lock()
						writeErr = errors.Join(writeErr, err)
						mu.Unlock()
						return
					}
				}
			}()
		}
		if _, err := s.SetSubstringSearch(ctx, org, []string{"name.givenName", "userName"}); err != nil {
			t.Fatalf("SetSubstringSearch: %v", err)
		}
		close(stop)
		wg.Wait()
		if writeErr != nil {
			t.Fatalf("writes during the build: %v", writeErr)
		}
		set, err := s.Extensions(ctx, org)
		if err != nil || len(set.SubstringPending) != 0 {
			t.Fatalf("Extensions after the build = %+v, %v", set, err)
		}
		if got, _ := check(t, s); len(got) != 0 {
			t.Fatalf("Check after a build under writes: findings:\n%s", findingLines(got))
		}
	})
}

// TestSubstringStaleType: a query with a User type read before the
// setting changed (servers cache it for seconds) is not answered from a
// trigram index that is being removed: the organization's generation
// moved on, and the scan answers.
func TestSubstringStaleType(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := resources.WithActor(context.Background(), "test")
		if _, err := s.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		users := resources.NewUsers(s)
		if _, err := users.Create(ctx, org, map[string]any{"schemas": []any{schemas.UserURN}, "userName": "ann@example.com", "displayName": "Annabel"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetSubstringSearch(ctx, org, []string{"displayName"}); err != nil {
			t.Fatal(err)
		}
		rt, err := resources.NewUsers(s).TypeFor(ctx, org)
		if err != nil || !slices.Contains(rt.Custom.SubstringReady, "displayName") {
			t.Fatalf("TypeFor = %v, %v; want displayName's trigram index ready", rt.Custom.SubstringReady, err)
		}
		e, err := resources.ParseFilter(rt, `displayName co "nna"`, "")
		if err != nil {
			t.Fatal(err)
		}
		list := func() (resources.Page, error) {
			return s.ListUsers(ctx, org, resources.Query{Filter: e, StartIndex: 1, Count: 10, Type: &rt})
		}
		if page, err := list(); err != nil || page.Total != 1 {
			t.Fatalf("from the trigram index: total %d, %v; want 1", page.Total, err)
		}
		if _, err := s.SetSubstringSearch(ctx, org, nil); err != nil {
			t.Fatal(err)
		}
		if page, err := list(); err != nil || page.Total != 1 {
			t.Errorf("with the type read before substring search was turned off: total %d, %v; want 1", page.Total, err)
		}
	})
}
