package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/resources"
)

// TestCreatedLeafSpan: a time of a filter, to the nanosecond, maps to the
// whole microseconds (scores) whose times satisfy the comparison.
func TestCreatedLeafSpan(t *testing.T) {
	const base = "2024-05-06T12:00:00"
	us := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC).UnixMicro()
	inf, neg := int64(math.MaxInt64), int64(math.MinInt64)
	for _, tc := range []struct {
		op     filter.CompareOperator
		v      string
		lo, hi int64
	}{
		{filter.GT, base + ".0000015Z", us + 2, inf},
		{filter.GE, base + ".0000015Z", us + 2, inf},
		{filter.LT, base + ".0000015Z", neg, us + 1},
		{filter.LE, base + ".0000015Z", neg, us + 1},
		{filter.EQ, base + ".0000015Z", us + 2, us + 1}, // no whole microsecond: empty
		{filter.GT, base + ".000002Z", us + 3, inf},
		{filter.GE, base + ".000002Z", us + 2, inf},
		{filter.LT, base + ".000002Z", neg, us + 1},
		{filter.LE, base + ".000002Z", neg, us + 2},
		{filter.EQ, base + ".000002000Z", us + 2, us + 2},
		{filter.EQ, base + "+02:00", us - 7_200_000_000, us - 7_200_000_000},
		{filter.GT, "1969-12-31T23:59:59.9999995Z", 0, inf}, // before 1970: floor, not towards zero
		{filter.LE, "1969-12-31T23:59:59.9999995Z", neg, -1},
		{filter.PR, "", neg, inf},
	} {
		n := createdLeaf(tc.op, tc.v)
		if n == nil || !n.exact || n.span != (seqSpan{tc.lo, tc.hi}) {
			t.Errorf("createdLeaf(%s %s) = %+v; want span [%d, %d]", tc.op, tc.v, n, tc.lo, tc.hi)
		}
	}
	for _, op := range []filter.CompareOperator{filter.NE, filter.CO, filter.SW} {
		if n := createdLeaf(op, base+"Z"); n != nil {
			t.Errorf("createdLeaf(%s) = %+v; want none (no span)", op, n)
		}
	}
	if n := createdLeaf(filter.EQ, "yesterday"); n != nil {
		t.Errorf("createdLeaf of no time = %+v; want none", n)
	}
	// Bounds as Redis takes them, and narrowed by positions.
	r := seqSpan{10, 20}
	for _, tc := range []struct{ lo, hi, wantLo, wantHi string }{
		{"-inf", "+inf", "10", "20"},
		{"(12", "+inf", "13", "20"},
		{"-inf", "(15", "10", "14"},
		{"15", "(40", "15", "20"},
		{"(1.5e+1", "+inf", "16", "20"},
	} {
		if lo, hi := r.clip(tc.lo, tc.hi); lo != tc.wantLo || hi != tc.wantHi {
			t.Errorf("clip(%s, %s) = %s, %s; want %s, %s", tc.lo, tc.hi, lo, hi, tc.wantLo, tc.wantHi)
		}
	}
}

// TestCreatedScore: a creation's time is its score in the ordering set, in
// microseconds, as the response, reads and the change of meta.lastModified
// say; a creation in or before the last one's microsecond (a clock behind)
// takes the microsecond after it. Scores of 16 digits stay exact on every
// store (Lua formats numbers with 14).
func TestCreatedScore(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		a := mustCreateUser(t, s, user("a@example.com", "active", false))
		if a.Created.Nanosecond()%1000 != 0 || !a.Modified.Equal(a.Created) {
			t.Errorf("created %v, modified %v; want one time, whole microseconds", a.Created, a.Modified)
		}
		got, err := s.GetUser(ctx, org, a.ID)
		if err != nil || !got.Created.Equal(a.Created) || !got.Modified.Equal(a.Created) {
			t.Fatalf("GetUser = %v, %v, %v; want created and modified %v", got.Created, got.Modified, err, a.Created)
		}
		if sc := s.client.ZScore(ctx, p+"all:user", a.ID).Val(); int64(sc) != a.Created.UnixMicro() {
			t.Errorf("score %v; want %d", sc, a.Created.UnixMicro())
		}
		// The last user is an hour ahead (another server's clock): the
		// next creation comes a microsecond after it.
		ahead := a.Created.Add(time.Hour + 123*time.Microsecond)
		moveCreated(t, s, a.ID, a.Created, ahead)
		b := mustCreateUser(t, s, user("b@example.com"))
		c := mustCreateUser(t, s, user("c@example.com", "active", true))
		if want := ahead.Add(time.Microsecond); !b.Created.Equal(want) {
			t.Errorf("created after a user ahead = %v; want %v", b.Created, want)
		}
		if want := ahead.Add(2 * time.Microsecond); !c.Created.Equal(want) {
			t.Errorf("created next = %v; want %v", c.Created, want)
		}
		scores := s.client.ZRangeWithScores(ctx, p+"all:user", 0, -1).Val()
		var ids []string
		for i, z := range scores {
			ids = append(ids, z.Member.(string))
			if want := []time.Time{ahead, b.Created, c.Created}[i]; int64(z.Score) != want.UnixMicro() {
				t.Errorf("score of %v = %d; want %d", z.Member, int64(z.Score), want.UnixMicro())
			}
		}
		if !slices.Equal(ids, []string{a.ID, b.ID, c.ID}) {
			t.Errorf("ordering set %v; want a, b, c", ids)
		}
		if x := s.client.ZScore(ctx, p+"inactive:user", a.ID).Val(); int64(x) != ahead.UnixMicro() {
			t.Errorf("inactive:user score %v; want %d", x, ahead.UnixMicro())
		}
		// Filters on the times, to the microsecond.
		for f, want := range map[string][]string{
			`meta.created eq "` + b.Created.Format(time.RFC3339Nano) + `"`:                       {b.ID},
			`meta.created gt "` + b.Created.Format(time.RFC3339Nano) + `"`:                       {c.ID},
			`meta.created ge "` + b.Created.Format(time.RFC3339Nano) + `"`:                       {b.ID, c.ID},
			`meta.created lt "` + b.Created.Add(time.Nanosecond).Format(time.RFC3339Nano) + `"`:  {a.ID, b.ID},
			`meta.created le "` + b.Created.Add(-time.Nanosecond).Format(time.RFC3339Nano) + `"`: {a.ID},
			`meta.created eq "` + b.Created.Add(time.Nanosecond).Format(time.RFC3339Nano) + `"`:  nil,
			`not (meta.created gt "` + ahead.Format(time.RFC3339Nano) + `")`:                     {a.ID},
			`meta.created gt "` + a.Created.Format(time.RFC3339Nano) + `" and active eq false`:   {a.ID},
		} {
			page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, f), StartIndex: 1, Count: 10})
			if err != nil {
				t.Fatalf("ListUsers(%s): %v", f, err)
			}
			var got []string
			for _, u := range page.Resources {
				got = append(got, u.ID)
			}
			if page.Total != len(want) || !slices.Equal(got, want) {
				t.Errorf("%s = %d %v; want %v", f, page.Total, got, want)
			}
		}
		if fs, _ := check(t, s); len(fs) != 0 {
			t.Errorf("Check found:\n%s", findingLines(fs))
		}
		// A score that is not the user's time is found.
		if err := s.client.ZAdd(ctx, p+"all:user", redis.Z{Score: float64(c.Created.UnixMicro() + 5), Member: c.ID}).Err(); err != nil {
			t.Fatalf("ZADD: %v", err)
		}
		fs, _ := check(t, s)
		if len(fs) != 1 || fs[0].Code != "created-score" || fs[0].ID != c.ID {
			t.Errorf("Check of a wrong score = %s; want created-score of %s", findingLines(fs), c.ID)
		}
	})
}

// TestCreatedScoreBatch: creations in one pipeline, most in the
// microsecond of the one before (in its second), each take the next
// microsecond: times, scores and index entries agree.
func TestCreatedScoreBatch(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		// Many creations in one pipeline: most in the microsecond of the
		// one before, each takes the next.
		var batch []resources.Resource
		for i := range 30 {
			batch = append(batch, user(fmt.Sprintf("batch%d@example.com", i), "active", true))
		}
		made, errs, err := s.CreateUsers(ctx, org, batch, make([]resources.UserWrite, len(batch)))
		if err != nil {
			t.Fatalf("CreateUsers: %v", err)
		}
		for i, u := range made {
			if errs[i] != nil {
				t.Fatalf("CreateUsers %d: %v", i, errs[i])
			}
			got, err := s.GetUser(ctx, org, u.ID)
			sc := s.client.ZScore(ctx, p+"all:user", u.ID).Val()
			if err != nil || !got.Created.Equal(u.Created) || !got.Modified.Equal(u.Created) || int64(sc) != u.Created.UnixMicro() {
				t.Errorf("batch user %d: created %v, read %v %v %v, score %v", i, u.Created, got.Created, got.Modified, err, sc)
			}
			if i > 0 && !u.Created.After(made[i-1].Created) {
				t.Errorf("batch user %d created %v, not after %v", i, u.Created, made[i-1].Created)
			}
		}
		if fs, _ := check(t, s); len(fs) != 0 {
			t.Errorf("Check found:\n%s", findingLines(fs))
		}
	})
}

// moveCreated sets a user's creation time (and its meta.lastModified, the
// same while it was not modified) from was to to, in its hash, the
// ordering set, inactive:user and the index of meta.lastModified.
func moveCreated(t *testing.T, s *Store, id string, was, to time.Time) {
	t.Helper()
	ctx := context.Background()
	p := "scimd:{" + org + "}:"
	score := strconv.FormatInt(to.UnixMicro(), 10)
	pipe := s.client.TxPipeline()
	pipe.HSet(ctx, p+"user:"+id, "created", score+"000")
	pipe.ZAdd(ctx, p+"all:user", redis.Z{Score: float64(to.UnixMicro()), Member: id})
	pipe.ZRem(ctx, p+"ix:user:meta.lastModified", was.UTC().Format(tsFormat)+"\x00"+id)
	pipe.ZAdd(ctx, p+"ix:user:meta.lastModified", redis.Z{Member: to.UTC().Format(tsFormat) + "\x00" + id})
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("move created of %s: %v", id, err)
	}
	if x, err := s.client.ZScore(ctx, p+"inactive:user", id).Result(); err == nil {
		sign := 1.0
		if x < 0 {
			sign = -1
		}
		if err := s.client.ZAdd(ctx, p+"inactive:user", redis.Z{Score: sign * float64(to.UnixMicro()), Member: id}).Err(); err != nil {
			t.Fatalf("ZADD inactive:user: %v", err)
		}
	}
}

// writeLegacyCreated turns the organization's users into what a store
// written before scored them by held: all:user (and inactive:user, plus or
// minus) scored by a creation sequence 1, 2, ... in creation order, the
// sequence in seq, creation times to the nanosecond (a few in one
// nanosecond, one behind the user before it, one stored as a time string),
// and ix:user:meta.created. It returns the ids in creation order.
func writeLegacyCreated(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	p := "scimd:{" + org + "}:"
	ids := s.client.ZRange(ctx, p+"all:user", 0, -1).Val()
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, id := range ids {
		key := p + "user:" + id
		was := timeOf(t, storedField(t, ctx, s.client, key, "created"))
		var to time.Time
		switch {
		case i == 2 || i == 3: // one nanosecond, both
			to = base.Add(2*time.Millisecond + 777)
		case i == 5: // behind the user before (a server's clock)
			to = base.Add(4*time.Millisecond + 1)
		default:
			to = base.Add(time.Duration(i)*time.Millisecond + time.Duration(100*i+1))
		}
		stored := strconv.FormatInt(to.UnixNano(), 10)
		if i == 1 {
			stored = to.Format(tsFormat) // an older user: a time string
		}
		_, err := s.client.HGet(ctx, key, "modified").Result()
		unmodified := errors.Is(err, redis.Nil) // lastModified is created
		pipe := s.client.TxPipeline()
		pipe.HSet(ctx, key, "created", stored)
		pipe.ZAdd(ctx, p+"all:user", redis.Z{Score: float64(i + 1), Member: id})
		pipe.ZAdd(ctx, p+legacyCreatedIndex, redis.Z{Member: to.Format(tsFormat) + "\x00" + id})
		if unmodified {
			pipe.ZRem(ctx, p+"ix:user:meta.lastModified", was.Format(tsFormat)+"\x00"+id)
			pipe.ZAdd(ctx, p+"ix:user:meta.lastModified", redis.Z{Member: to.Format(tsFormat) + "\x00" + id})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("write the earlier layout of %s: %v", id, err)
		}
		if x, err := s.client.ZScore(ctx, p+"inactive:user", id).Result(); err == nil {
			sign := 1.0
			if x < 0 {
				sign = -1
			}
			s.client.ZAdd(ctx, p+"inactive:user", redis.Z{Score: sign * float64(i+1), Member: id})
		}
	}
	if err := s.client.Set(ctx, p+"seq", len(ids), 0).Err(); err != nil {
		t.Fatalf("SET seq: %v", err)
	}
	// This process saw the organization without the index: as if another
	// had written it, it looks again.
	s.sparseDone.Delete(p + legacyCreatedIndex)
	return ids
}

// timeOf reads a stored time (Unix nanoseconds or tsFormat).
func timeOf(t *testing.T, v string) time.Time {
	t.Helper()
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(0, n).UTC()
	}
	tm, err := time.Parse(tsFormat, v)
	if err != nil {
		t.Fatalf("stored time %q: %v", v, err)
	}
	return tm
}

// TestUpgradeCreatedIndex: a store scored by creation sequences, with the
// index of meta.created, answers meta.created filters, sorts and creation
// order from the index while this version writes to it, before, during and
// after its conversion, keeps the order of creation throughout, checks
// clean, and has the times as scores, to the microsecond, afterwards.
func TestUpgradeCreatedIndex(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := "scimd:{" + org + "}:"
		for i, active := range []any{true, false, nil, true, false, nil, true, "False", true, nil} {
			u := user(fmt.Sprintf("u%d@example.com", i))
			if active != nil {
				u.Attributes["active"] = active
			}
			mustCreateUser(t, s, u)
		}
		order := writeLegacyCreated(t, s)
		// Queries over every user's time: a time, just before and after.
		answers := func(when string) {
			t.Helper()
			all, err := s.ListUsers(ctx, org, resources.Query{Count: 100})
			if err != nil {
				t.Fatalf("%s: ListUsers: %v", when, err)
			}
			var listed []string
			for _, u := range all.Resources {
				listed = append(listed, u.ID)
			}
			if !slices.Equal(listed, order) {
				t.Errorf("%s: creation order %v; want %v", when, listed, order)
			}
			var filters []string
			for i, u := range all.Resources {
				if i%3 != 0 {
					continue
				}
				for _, d := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond} {
					v := u.Created.Add(d).Format(time.RFC3339Nano)
					for _, op := range []string{"eq", "gt", "ge", "lt", "le"} {
						filters = append(filters, fmt.Sprintf("meta.created %s %q", op, v))
					}
					filters = append(filters, fmt.Sprintf("not (meta.created lt %q) and active eq true", v),
						fmt.Sprintf("meta.created lt %q or userName eq \"u7@example.com\"", v))
				}
			}
			filters = append(filters, "meta.created pr")
			listsAsScan(t, s, when, all.Resources, filters)
			sort, err := resources.ParseSort(s.users.rt, "meta.created", "descending")
			if err != nil {
				t.Fatalf("ParseSort: %v", err)
			}
			page, err := s.ListUsers(ctx, org, resources.Query{Sort: sort, StartIndex: 1, Count: 100})
			if err != nil {
				t.Fatalf("%s: sortBy meta.created: %v", when, err)
			}
			var got []string
			for _, u := range page.Resources {
				got = append(got, u.ID)
			}
			byTime := slices.Clone(all.Resources)
			slices.SortFunc(byTime, func(a, b resources.Resource) int {
				if c := b.Created.Compare(a.Created); c != 0 {
					return c
				}
				return strings.Compare(b.ID, a.ID)
			})
			var want []string
			for _, u := range byTime {
				want = append(want, u.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: sortBy meta.created descending = %v; want %v", when, got, want)
			}
			forward, backward := seekWalk(t, s, resources.Query{}, 3, len(order))
			if !slices.Equal(forward, order) || !slices.Equal(backward, order) {
				t.Errorf("%s: cursor walk %v, back %v; want %v", when, forward, backward, order)
			}
		}
		clean := func(when string) {
			t.Helper()
			got, stats := check(t, s)
			if len(got) != 0 {
				t.Errorf("Check %s found:\n%s", when, findingLines(got))
			}
			if pending := s.client.Exists(ctx, p+legacyCreatedIndex).Val() == 1; stats.PendingUpgrade != pending {
				t.Errorf("Check %s: PendingUpgrade %v; want %v", when, stats.PendingUpgrade, pending)
			}
		}
		answers("with the earlier index")
		clean("with the earlier index")

		// Written by this version meanwhile: a creation, a deletion, a
		// replacement.
		order = append(order, mustCreateUser(t, s, user("new@example.com")).ID)
		if err := s.DeleteUser(ctx, org, order[4], 0); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		order = slices.Delete(order, 4, 5)
		cur, err := s.GetUser(ctx, org, order[6])
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		cur.Attributes["displayName"] = "Renamed"
		if _, err := s.ReplaceUser(ctx, org, cur, cur.Version, resources.UserWrite{}); err != nil {
			t.Fatalf("ReplaceUser: %v", err)
		}
		answers("written meanwhile")
		clean("written meanwhile")

		// A cursor minted now, on a creation sequence.
		first, err := s.ListUsers(ctx, org, resources.Query{Count: 4, Seek: &resources.Seek{}})
		if err != nil || len(first.Positions) != 4 {
			t.Fatalf("first page by cursor = %+v, %v", first, err)
		}
		// During the conversion: one batch of 4, the last users first.
		if n, err := s.createdUpgrade.Run(ctx, s, []string{p + "all:user"}, p, 4, createdEpoch).Int(); err != nil || n != 4 {
			t.Fatalf("a batch of the conversion = %d, %v; want 4", n, err)
		}
		order = append(order, mustCreateUser(t, s, user("during@example.com")).ID)
		answers("during the conversion")
		clean("during the conversion")
		rest := func(when string) {
			t.Helper()
			next, err := s.ListUsers(ctx, org, resources.Query{Count: 100, Seek: &resources.Seek{From: &first.Positions[3]}})
			if err != nil {
				t.Fatalf("%s: the next page of an earlier cursor: %v", when, err)
			}
			var got []string
			for _, u := range next.Resources {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, order[4:]) {
				t.Errorf("%s: the next page of an earlier cursor = %v; want %v", when, got, order[4:])
			}
		}
		rest("during the conversion")

		if _, err := s.Upgrade(ctx, org); err != nil {
			t.Fatalf("Upgrade: %v", err)
		}
		if n := s.client.Exists(ctx, p+legacyCreatedIndex).Val(); n != 0 {
			t.Errorf("%s is still there after Upgrade", legacyCreatedIndex)
		}
		if pending, err := s.createdPending(ctx, p); err != nil || pending {
			t.Fatalf("after Upgrade, meta.created is still read from the index (%v)", err)
		}
		answers("after the upgrade")
		clean("after the upgrade")
		rest("after the upgrade")
		// The ties and the user behind: each a microsecond apart, in order.
		zs := s.client.ZRangeWithScores(ctx, p+"all:user", 0, -1).Val()
		for i := 1; i < len(zs); i++ {
			if zs[i].Score <= zs[i-1].Score {
				t.Errorf("scores %v then %v: not increasing", zs[i-1], zs[i])
			}
		}
		for _, z := range zs {
			u, err := s.GetUser(ctx, org, z.Member.(string))
			if err != nil || u.Created.UnixMicro() != int64(z.Score) || u.Created.Nanosecond()%1000 != 0 {
				t.Errorf("user %v: created %v, %v; want its score %d", z.Member, u.Created, err, int64(z.Score))
			}
		}
		if n, err := s.Upgrade(ctx, org); err != nil || n != 0 {
			t.Errorf("second Upgrade = %d, %v; want nothing to do", n, err)
		}
	})
}
