package backend

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend/redistest"
	"github.com/scimd/scimd/resources"
	"github.com/scimd/scimd/schemas"
)

// TestPiecesReadNoScriptGlobals: the pieces scripts begin with never read
// KEYS or ARGV. In a script they are globals; in a function of the library
// they are its callback's parameters, so a piece's function reading them
// fails on Redis with functions only ("nonexistent global variable").
func TestPiecesReadNoScriptGlobals(t *testing.T) {
	global := regexp.MustCompile(`\b(KEYS|ARGV)\b`)
	for i, p := range libraryPieces {
		for n, line := range strings.Split(p, "\n") {
			code, _, _ := strings.Cut(line, "--")
			if global.MatchString(code) {
				t.Errorf("piece %d, line %d reads a script global: %s", i, n+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestLibraryHoldsEveryScript: every script the store runs is a function of
// the library (one missing would still run, with EVALSHA, and lose what the
// library saves), under a name of its own that carries the library's hash.
func TestLibraryHoldsEveryScript(t *testing.T) {
	s := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}))
	defer s.Close()
	scripts := map[string]*script{"gcraScript": gcraScript, "leaseScript": leaseScript,
		"reserveFailureScript": reserveFailureScript, "settleFailureScript": settleFailureScript}
	typ := reflect.TypeFor[*script]()
	for _, v := range []reflect.Value{reflect.ValueOf(s).Elem(), reflect.ValueOf(&s.admins).Elem()} {
		for i := range v.NumField() {
			if v.Type().Field(i).Type == typ {
				scripts[v.Type().Name()+"."+v.Type().Field(i).Name] = (*script)(v.Field(i).UnsafePointer())
			}
		}
	}
	if len(scripts) < 30 {
		t.Fatalf("found %d scripts in Store and adminScripts; the test no longer sees them", len(scripts))
	}
	for name, sc := range scripts {
		if _, ok := storeLibrary.functions[sc.src]; !ok {
			t.Errorf("%s is not in libraryScripts (library.go)", name)
		}
	}
	hash := strings.TrimPrefix(storeLibrary.name, "scimd_")
	if len(hash) != 12 {
		t.Errorf("library name %q, want scimd_<12 hex>", storeLibrary.name)
	}
	seen := map[string]bool{}
	for _, fn := range storeLibrary.functions {
		if seen[fn] || !strings.HasSuffix(fn, "_"+hash) {
			t.Errorf("function %q: a duplicate, or not ending with the library's hash %s", fn, hash)
		}
		seen[fn] = true
	}
	if len(seen) != len(libraryScripts) {
		t.Errorf("%d functions for %d scripts: two scripts have the same source", len(seen), len(libraryScripts))
	}
}

// TestLibraryPieces: a script's function body is the script less the
// pieces it begins with, which the library runs once at its top level.
func TestLibraryPieces(t *testing.T) {
	for _, c := range []struct {
		name   string
		src    string
		pieces []string
	}{
		{"writeUser", writeUserSrc, []string{luaCommon}},
		{"setAdminRole", setAdminRoleSrc, []string{luaCommon, luaAdmin}},
		{"findUserName", findUserNameSrc, []string{luaUserGroups}},
		{"readUser", readUserSrc, []string{luaUserGroups}},
		{"searchWalk", searchWalkSrc, []string{luaSearch}},
		{"orderMembers", orderMembersSrc, []string{luaOrderKey}},
		{"gcra", gcraSrc, nil},
	} {
		pieces, body := splitPieces(c.src)
		if len(pieces) != len(c.pieces) || strings.Join(pieces, "") != strings.Join(c.pieces, "") {
			t.Errorf("%s: %d pieces, want %d", c.name, len(pieces), len(c.pieces))
		}
		if strings.Join(pieces, "")+body != c.src {
			t.Errorf("%s: pieces and body are not the script", c.name)
		}
	}
}

// masters returns a client of every primary of s's Redis.
func masters(t *testing.T, s *Store) []*redis.Client {
	t.Helper()
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		c, ok := s.client.(*redis.Client)
		if !ok {
			t.Fatalf("client %T", s.client)
		}
		return []*redis.Client{c}
	}
	var mu sync.Mutex // ForEachMaster calls back concurrently
	var out []*redis.Client
	err := cc.ForEachMaster(context.Background(), func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scriptCalls returns the calls of each of FCALL and EVALSHA (EVAL counted
// with it) since the last CONFIG RESETSTAT, over every primary.
func scriptCalls(t *testing.T, nodes []*redis.Client) (fcall, evalsha int) {
	t.Helper()
	for _, c := range nodes {
		info, err := c.Info(context.Background(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
			if !ok {
				continue
			}
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			switch name {
			case "cmdstat_fcall", "cmdstat_fcall_ro":
				fcall += n
			case "cmdstat_evalsha", "cmdstat_eval":
				evalsha += n
			}
		}
	}
	return fcall, evalsha
}

// lifecycle creates, finds by userName, replaces and deletes a user of org
// on s, in a group (the scripts of users, groups, members and userName eq).
func lifecycle(t *testing.T, s *Store, org, userName string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, org, user(userName), resources.UserWrite{})
	if err != nil {
		t.Fatalf("CreateUser %s in %s: %v", userName, org, err)
	}
	if u.Version != 1 {
		t.Fatalf("CreateUser %s: version %d, want 1 (run once)", userName, u.Version)
	}
	if _, err := s.CreateGroup(ctx, org, group("G "+userName, u.ID)); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, `userName eq "`+userName+`"`), Count: 10})
	if err != nil || len(page.Resources) != 1 || page.Resources[0].ID != u.ID || len(page.Resources[0].Groups) != 1 {
		t.Fatalf("ListUsers userName eq %q = %+v, %v; want the user in its group", userName, page.Resources, err)
	}
	if _, err := s.ReplaceUser(ctx, org, resources.Resource{ID: u.ID, Attributes: map[string]any{"userName": userName, "displayName": "D"}}, page.Resources[0].Version, resources.UserWrite{}); err != nil {
		t.Fatalf("ReplaceUser: %v", err)
	}
	if err := s.DeleteUser(ctx, org, u.ID, page.Resources[0].Version+1); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
}

// TestScriptsRunAsFunctions: on redis-server and a Cluster the store's
// scripts run as the library's functions, and only so; on the embedded store
// (miniredis has no functions), as scripts. The library is loaded on every
// primary when the store opens, and opening again (a second scimd) loads
// nothing new.
func TestScriptsRunAsFunctions(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		nodes := masters(t, s)
		if want := s.mini == nil; s.functions != want {
			t.Fatalf("functions = %v, want %v", s.functions, want)
		}
		for _, c := range nodes {
			if err := c.ConfigResetStat(ctx).Err(); err != nil && s.mini == nil {
				t.Fatal(err)
			}
		}
		for i := range 6 { // organizations in several slots of a Cluster
			lifecycle(t, s, "fn"+strconv.Itoa(i), "u"+strconv.Itoa(i)+"@example.com")
		}
		if s.mini != nil {
			return // miniredis keeps no commandstats
		}
		if fcall, evalsha := scriptCalls(t, nodes); fcall == 0 || evalsha != 0 {
			t.Errorf("%d FCALL and %d EVALSHA or EVAL, want only FCALL", fcall, evalsha)
		}
		for _, c := range nodes {
			libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "scimd_*"}).Result()
			if err != nil || len(libs) != 1 || libs[0].Name != storeLibrary.name || len(libs[0].Functions) != len(libraryScripts) {
				t.Fatalf("FUNCTION LIST on %s = %+v, %v; want %s with %d functions", c.Options().Addr, libs, err, storeLibrary.name, len(libraryScripts))
			}
		}
		if err := s.loadLibrary(ctx); err != nil {
			t.Errorf("loading the library a second time: %v, want success", err)
		}
	})
}

// TestFunctionsReloaded: a primary that lost the library (FUNCTION FLUSH, as
// a restart without persistence or a new Cluster node) gets it again at the
// first call that misses it, and that call runs once.
func TestFunctionsReloaded(t *testing.T) {
	eachStoreAndCluster(t, func(t *testing.T, s *Store) {
		if s.mini != nil {
			return // no functions
		}
		ctx := context.Background()
		nodes := masters(t, s)
		for i := range 6 {
			for _, c := range nodes {
				if err := c.FunctionFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			lifecycle(t, s, "re"+strconv.Itoa(i), "r"+strconv.Itoa(i)+"@example.com")
			loaded := 0
			for _, c := range nodes {
				libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: storeLibrary.name}).Result()
				if err != nil {
					t.Fatal(err)
				}
				loaded += len(libs)
			}
			if loaded == 0 {
				t.Fatalf("no primary has the library again after the calls")
			}
		}
		// A read-only script first.
		for _, c := range nodes {
			if err := c.FunctionFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.ListUsers(ctx, "re0", resources.Query{Filter: mustFilter(t, `userName eq "nobody"`)})
		if err != nil || len(page.Resources) != 0 {
			t.Fatalf("ListUsers after FUNCTION FLUSH = %+v, %v; want none", page.Resources, err)
		}
	})
}

// TestScriptsWithoutFunctions: a store that did not load the library (New,
// as one on a Redis before 7 would be) runs its scripts with EVALSHA on a
// redis-server.
func TestScriptsWithoutFunctions(t *testing.T) {
	if !hasRedis(t) {
		return
	}
	url := redistest.Start(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	s := New(c)
	defer s.Close()
	lifecycle(t, s, org, "old@example.com")
	if fcall, evalsha := scriptCalls(t, []*redis.Client{c}); fcall != 0 || evalsha == 0 {
		t.Errorf("%d FCALL and %d EVALSHA or EVAL, want only EVALSHA", fcall, evalsha)
	}
}

// TestFunctionsRefused: a Redis user not allowed to load functions leaves
// the store on EVALSHA; one allowed to load them but not to call them
// (an FCALL refused, as by a node of an older Redis) runs each script with
// EVALSHA after the refusal, once.
func TestFunctionsRefused(t *testing.T) {
	if !hasRedis(t) {
		return
	}
	ctx := context.Background()
	url := redistest.Start(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	defer admin.Close()
	for _, c := range []struct {
		user, deny string
		functions  bool
	}{
		{"noload", "-function", false},
		{"nocall", "-fcall", true},
	} {
		t.Run(c.user, func(t *testing.T) {
			if err := admin.Do(ctx, "ACL", "SETUSER", c.user, "on", ">pw", "~*", "&*", "+@all", c.deny).Err(); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, strings.Replace(url, "redis://", "redis://"+c.user+":pw@", 1))
			if err != nil {
				t.Fatalf("Open as %s: %v", c.user, err)
			}
			defer s.Close()
			if s.functions != c.functions {
				t.Fatalf("functions = %v, want %v", s.functions, c.functions)
			}
			if err := admin.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			lifecycle(t, s, c.user, c.user+"@example.com")
			if _, evalsha := scriptCalls(t, []*redis.Client{admin}); evalsha == 0 {
				t.Errorf("no EVALSHA ran")
			}
		})
	}
}

// TestLibraryVersionsSideBySide: another version of scimd's library (other
// text, so another hash) loads beside this one and replaces nothing: each
// version calls its own functions during a rolling upgrade.
func TestLibraryVersionsSideBySide(t *testing.T) {
	if !hasRedis(t) {
		return
	}
	ctx := context.Background()
	s, err := Open(ctx, redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := append([]libraryScript(nil), libraryScripts...)
	next[0].src += "\n-- the next version"
	other := newLibrary(next)
	if other.name == storeLibrary.name || other.functions[next[1].src] == storeLibrary.functions[next[1].src] {
		t.Fatalf("changed library named %s, function %s: the same as this version's", other.name, other.functions[next[1].src])
	}
	if err := s.client.FunctionLoad(ctx, other.text).Err(); err != nil {
		t.Fatalf("FUNCTION LOAD of the other version: %v", err)
	}
	libs, err := s.client.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: "scimd_*"}).Result()
	if err != nil || len(libs) != 2 {
		t.Fatalf("FUNCTION LIST = %+v, %v; want both versions", libs, err)
	}
	lifecycle(t, s, org, "both@example.com")
}

// TestReadFunctionsAnswerAtMaxmemory: a function that writes is refused
// when Redis has reached maxmemory, before it runs; the read-only ones
// (no-writes) still answer, as read scripts did with EVALSHA.
func TestReadFunctionsAnswerAtMaxmemory(t *testing.T) {
	if !hasRedis(t) {
		return
	}
	ctx := context.Background()
	s, err := Open(ctx, redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(ctx, org, user("full@example.com", "active", true), resources.UserWrite{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.client.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	defer s.client.ConfigSet(ctx, "maxmemory", "0")
	for _, f := range []string{`userName eq "full@example.com"`, `active eq true`} {
		page, err := s.ListUsers(ctx, org, resources.Query{Filter: mustFilter(t, f), Count: 10})
		if err != nil || len(page.Resources) != 1 || page.Resources[0].ID != u.ID {
			t.Errorf("ListUsers %s at maxmemory = %+v, %v; want the user", f, page.Resources, err)
		}
	}
	if _, err := s.CreateUser(ctx, org, user("more@example.com"), resources.UserWrite{}); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("CreateUser at maxmemory = %v, want OOM", err)
	}
}

// BenchmarkScriptsAsFunctions measures what Redis spends on the create
// script and on userName eq's find script, run with EVALSHA and as
// functions (FCALL), alternately, three rounds, on the same redis-server
// holding benchUsers users: redis-µs/script is INFO commandstats' µs per
// call (Redis's wall time in the command, which grows when the machine is
// busy), redis-cpu-µs/op the CPU time of Redis's main thread per operation
// (INFO cpu; the operation's other commands and its network I/O included).
func BenchmarkScriptsAsFunctions(b *testing.B) {
	s, _ := seeded(b)
	ctx := context.Background()
	filters := make([]resources.Query, 1000)
	for i := range filters {
		e, err := resources.ParseFilter(schemas.Users(), fmt.Sprintf(`userName eq "USER%05d@example.com"`, i*7), "")
		if err != nil {
			b.Fatal(err)
		}
		filters[i] = resources.Query{Filter: e, StartIndex: 1, Count: 100}
	}
	info := func(b *testing.B, section string) map[string]string {
		b.Helper()
		text, err := s.client.Info(ctx, section).Result()
		if err != nil {
			b.Fatal(err)
		}
		out := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				out[k] = v
			}
		}
		return out
	}
	cpu := func(b *testing.B) float64 {
		f := info(b, "cpu")
		user, _ := strconv.ParseFloat(f["used_cpu_user_main_thread"], 64)
		sys, _ := strconv.ParseFloat(f["used_cpu_sys_main_thread"], 64)
		return (user + sys) * 1e6
	}
	// measure runs op in a loop and reports Redis's time.
	measure := func(b *testing.B, call string, op func()) {
		if err := s.client.ConfigResetStat(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpu(b)
		for b.Loop() {
			op()
		}
		b.ReportMetric((cpu(b)-cpu0)/float64(b.N), "redis-cpu-µs/op")
		_, per, _ := strings.Cut(info(b, "commandstats")["cmdstat_"+call], "usec_per_call=")
		per, _, _ = strings.Cut(per, ",")
		v, _ := strconv.ParseFloat(per, 64)
		b.ReportMetric(v, "redis-µs/script")
	}
	next := benchUsers
	for range 3 {
		for _, call := range []string{"evalsha", "fcall"} {
			s.functions = call == "fcall"
			b.Run(call+"/create", func(b *testing.B) {
				measure(b, call, func() {
					if _, err := s.CreateUser(ctx, org, benchUser(next), resources.UserWrite{PasswordHash: "hash"}); err != nil {
						b.Fatal(err)
					}
					next++
				})
			})
			b.Run(call+"/find", func(b *testing.B) {
				i := 0
				measure(b, call, func() {
					if page, err := s.ListUsers(ctx, org, filters[i%len(filters)]); err != nil || page.Total != 1 {
						b.Fatalf("ListUsers = %d, %v", page.Total, err)
					}
					i++
				})
			})
		}
	}
}
