package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/backend/redistest"
)

// Fault tests: Redis and scimd fail as they do in production (killed with
// SIGKILL, paused, out of memory, demoted), under load; each test ends with
// "scimd check" clean and every write scimd acknowledged present.

// runAsScimdEnv makes the test binary run scimd's main instead of the tests,
// so that a test can run scimd as a process of its own and kill it.
const runAsScimdEnv = "SCIMD_TEST_RUN_AS_SCIMD"

func TestMain(m *testing.M) {
	if os.Getenv(runAsScimdEnv) == "1" {
		main()
		os.Exit(0)
	}
	// go-redis logs every failed dial on stderr, in plain text, through one
	// process-wide logger: hundreds of lines while a fault test keeps Redis
	// down. main sends them to scimd's log; the tests have no use for them.
	backend.SetLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// scimdProcess is scimd running as a process of its own: this test binary,
// re-executed (see TestMain).
type scimdProcess struct {
	base string
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess runs scimd serve on a free port with env and returns once it
// listens. The process is killed when the test ends, if it still runs.
func startProcess(t *testing.T, env map[string]string) *scimdProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runAsScimdEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start scimd: %v", err)
	}
	p := &scimdProcess{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p
	case <-p.done:
		t.Fatalf("scimd exited before listening")
	case <-time.After(20 * time.Second):
		t.Fatalf("scimd did not listen within 20s")
	}
	return nil
}

// kill kills scimd with SIGKILL, as a crash or an OOM killer does: no
// draining, no deferred work.
func (p *scimdProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// request sends one SCIM request and returns the status and decoded body; a
// transport error is status 0. A 503 without Retry-After is status
// noRetryAfter.
func request(ctx context.Context, method, url, token, body string) (int, map[string]any) {
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		return noRetryAfter, m
	}
	return resp.StatusCode, m
}

// noRetryAfter is the status [request] gives a 503 without Retry-After.
const noRetryAfter = 5030

func userBody(name string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `","name":{"givenName":"G","familyName":"F"}}`
}

// ledger records the writes scimd acknowledged, and the ones whose outcome
// the client cannot know (no answer, or a 503 after the write may have run).
type ledger struct {
	mu       sync.Mutex
	users    map[string]string // id -> userName, acknowledged creates
	deleted  map[string]bool   // acknowledged deletes
	tried    map[string]bool   // deletes sent, whatever the answer
	members  map[string]string // user id -> group id, acknowledged member adds
	refused  []refusal         // writes answered 503, in order
	statuses map[int]int
	acked    atomic.Int64
	inFlight atomic.Int64 // requests sent and not yet answered
	slowest  atomic.Int64 // the longest a request took to be answered, in ns
}

// refusal is a write answered 503, and what its detail said of it.
type refusal struct {
	method  string // POST (create a user), DELETE (delete one), PATCH (add a member)
	key     string // the userName created, or the user deleted or added
	group   string // the group a PATCH added key to
	unknown bool   // "outcome unknown": the write may have been made
}

// refused records a write answered 503 with body.
func (l *ledger) refuse(method, key, group string, body map[string]any) {
	detail, _ := body["detail"].(string)
	l.mu.Lock()
	l.refused = append(l.refused, refusal{method: method, key: key, group: group, unknown: strings.Contains(detail, "whether the change was made is unknown")})
	l.mu.Unlock()
}

func newLedger() *ledger {
	return &ledger{users: map[string]string{}, deleted: map[string]bool{}, tried: map[string]bool{},
		members: map[string]string{}, statuses: map[int]int{}}
}

func (l *ledger) status(s int) {
	l.mu.Lock()
	l.statuses[s]++
	l.mu.Unlock()
	if s >= 200 && s < 300 {
		l.acked.Add(1)
	}
}

// failed counts the answers that were no success.
func (l *ledger) failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for s, c := range l.statuses {
		if s < 200 || s > 299 {
			n += c
		}
	}
	return n
}

// load runs a mixed write load (create users; add every fifth to a group;
// delete every fifth, a member of a group) with workers until ctx ends,
// recording what scimd acknowledged in l.
func load(ctx context.Context, base, token string, groups []string, workers int, l *ledger) {
	var wg sync.WaitGroup
	request := func(ctx context.Context, method, url, token, body string) (int, map[string]any) {
		l.inFlight.Add(1)
		defer l.inFlight.Add(-1)
		start := time.Now()
		defer func() {
			took := int64(time.Since(start))
			for cur := l.slowest.Load(); took > cur && !l.slowest.CompareAndSwap(cur, took); cur = l.slowest.Load() {
			}
		}()
		return request(ctx, method, url, token, body)
	}
	for w := range workers {
		wg.Go(func() {
			var member string // the last user this worker added to a group
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d-%d@example.com", w, i, time.Now().UnixNano())
				status, body := request(ctx, "POST", base+"/scim/v2/Users", token, userBody(name))
				if ctx.Err() != nil {
					return
				}
				l.status(status)
				if status == http.StatusServiceUnavailable {
					l.refuse("POST", name, "", body)
				}
				if status != http.StatusCreated {
					continue
				}
				id, _ := body["id"].(string)
				l.mu.Lock()
				l.users[id] = name
				l.mu.Unlock()
				switch i % 5 {
				case 1:
					g := groups[i%len(groups)]
					status, body := request(ctx, "PATCH", base+"/scim/v2/Groups/"+g+"?excludedAttributes=members", token,
						`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`)
					if ctx.Err() != nil {
						return
					}
					l.status(status)
					if status == http.StatusServiceUnavailable {
						l.refuse("PATCH", id, g, body)
					}
					if status == http.StatusOK || status == http.StatusNoContent {
						l.mu.Lock()
						l.members[id] = g
						l.mu.Unlock()
					}
					member = id
				case 4:
					if member != "" {
						id, member = member, ""
					}
					l.mu.Lock()
					l.tried[id] = true
					l.mu.Unlock()
					status, body := request(ctx, "DELETE", base+"/scim/v2/Users/"+id, token, "")
					if ctx.Err() != nil {
						return
					}
					l.status(status)
					if status == http.StatusServiceUnavailable {
						l.refuse("DELETE", id, "", body)
					}
					if status == http.StatusNoContent {
						l.mu.Lock()
						l.deleted[id] = true
						l.mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
}

// verify checks that every write l recorded as acknowledged is in the store,
// through the API: created users exist with their userName (unless a delete
// was sent), deleted ones are gone, added members are members. It returns
// (and logs) what it counted.
func (l *ledger) verify(t *testing.T, base, token string) (summary string) {
	t.Helper()
	ctx := context.Background()
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for id, name := range l.users {
		status, body := request(ctx, "GET", base+"/scim/v2/Users/"+id, token, "")
		switch {
		case l.deleted[id]:
			if status != http.StatusNotFound {
				t.Errorf("user %s: its DELETE was acknowledged, but GET = %d", id, status)
			}
		case l.tried[id]:
			// The DELETE got no acknowledgment: either outcome is right.
		case status != http.StatusOK || body["userName"] != name:
			lost++
			t.Errorf("user %s: its creation was acknowledged, but GET = %d %v", id, status, body["userName"])
		}
	}
	groups := map[string]map[string]bool{}
	for uid, gid := range l.members {
		if l.tried[uid] {
			continue
		}
		if groups[gid] == nil {
			status, body := request(ctx, "GET", base+"/scim/v2/Groups/"+gid, token, "")
			if status != http.StatusOK {
				t.Fatalf("GET group %s = %d", gid, status)
			}
			groups[gid] = map[string]bool{}
			ms, _ := body["members"].([]any)
			for _, m := range ms {
				v, _ := m.(map[string]any)["value"].(string)
				groups[gid][v] = true
			}
		}
		if !groups[gid][uid] {
			lost++
			t.Errorf("user %s: its addition to group %s was acknowledged, but the group does not list it", uid, gid)
		}
	}
	summary = fmt.Sprintf("acknowledged: %d users created, %d deleted, %d member additions; %d lost; answers by status: %v",
		len(l.users), len(l.deleted), len(l.members), lost, l.statuses)
	t.Log(summary)
	return summary
}

// createGroups creates groups named prefix-0..n-1 and returns their ids.
func createGroups(t *testing.T, base, token, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		status, g := call(t, "POST", base+"/scim/v2/Groups", token,
			fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"%s-%d"}`, prefix, i))
		if status != http.StatusCreated {
			t.Fatalf("POST /Groups = %d %v", status, g)
		}
		ids = append(ids, g["id"].(string))
	}
	return ids
}

// waitAcked waits until l has at least n more acknowledged writes than at
// the call, or fails the test after d.
func waitAcked(t *testing.T, l *ledger, n int64, d time.Duration) {
	t.Helper()
	want := l.acked.Load() + n
	for deadline := time.Now().Add(d); l.acked.Load() < want; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("fewer than %d writes acknowledged within %s; answers by status: %v", n, d, l.statuses)
		}
	}
}

// TestFaultRedisKilledUnderWrites kills Redis (SIGKILL) twice while scimd
// serves a write load, and starts it again on its append-only file
// (appendfsync always), once at once (within go-redis's retries) and once
// after two seconds (past them): scimd serves again once Redis is back,
// loses no write it acknowledged, and the store checks clean.
func TestFaultRedisKilledUnderWrites(t *testing.T) {
	srv := redistest.StartPersistent(t)
	const token = "fault-redis-killed-token-123"
	base, _ := start(t, faultEnv(srv.URL, token))
	groups := createGroups(t, base, token, "killed", 3)

	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { load(ctx, base, token, groups, 8, l); close(loaded) }()
	for _, down := range []time.Duration{300 * time.Millisecond, 2 * time.Second} {
		waitAcked(t, l, 100, 20*time.Second)
		srv.Kill()
		time.Sleep(down)
		srv.Restart()
		t.Logf("Redis killed, and restarted %s later", down)
	}
	l.settle(t, base, token, srv.URL, cancel, loaded) // once scimd serves again
}

// settle ends a fault test's load: once 100 more writes are acknowledged
// (the store serves again), it stops the load (cancel, then waits for
// loaded), reads every acknowledged write back, checks the store at
// redisURL, and, as the "answers" subtest, that every answer was a success
// or a 503. It returns verify's summary.
func (l *ledger) settle(t *testing.T, base, token, redisURL string, cancel context.CancelFunc, loaded <-chan struct{}) (summary string) {
	t.Helper()
	waitAcked(t, l, 100, 20*time.Second)
	cancel()
	<-loaded
	summary = l.verify(t, base, token)
	mustCheck(t, redisURL)
	t.Run("answers", func(t *testing.T) { l.onlySuccessOr503(t) })
	return summary
}

// onlySuccessOr503 fails unless every answer l saw was a success or a 503
// with Retry-After:
// a request that met a failing Redis may not answer 500, nor a 409 or 404
// that its own write, run and then resent, caused.
func (l *ledger) onlySuccessOr503(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s, n := range l.statuses {
		if (s < 200 || s > 299) && s != http.StatusServiceUnavailable {
			t.Errorf("%d answers of status %d; want only successes and 503 (answers by status: %v)", n, s, l.statuses)
		}
	}
}

// TestFaultRedisPaused pauses Redis (DEBUG SLEEP 5) for longer than scimd's
// read timeout, set to 2 s in its URL (with the 5 s default the margin would
// be a loaded machine's scheduling delay), under a write load: requests under
// way answer 503 or succeed; every write answered 503 was made or not as its
// answer said (see checkRefusals); no acknowledged write is lost, the store
// checks clean. The pause did outlast the timeout: a write answered 503
// "outcome unknown", or a request waited longer than the read timeout. The
// requests' commands share pipelines (backend coalesce.go), so the writes
// in flight at the pause may be none: those queued behind a pipeline that
// timed out wait on a new connection, which Redis answers when it wakes,
// and a read that timed out is sent again, so they may all succeed, later.
func TestFaultRedisPaused(t *testing.T) {
	url := redistest.StartWith(t, "--enable-debug-command", "yes")
	const token = "fault-redis-paused-token-12"
	base, _ := start(t, faultEnv(url+"?read_timeout=2s", token))
	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { load(ctx, base, token, createGroups(t, base, token, "paused", 2), 8, l); close(loaded) }()
	waitAcked(t, l, 100, 20*time.Second)
	// The pausing client waits for Redis longer than Redis sleeps, and never
	// resends.
	opts, _ := redis.ParseURL(url)
	opts.ReadTimeout, opts.MaxRetries = 30*time.Second, -1
	pauser := redis.NewClient(opts)
	defer pauser.Close()
	if err := pauser.Do(context.Background(), "DEBUG", "SLEEP", "5").Err(); err != nil {
		t.Fatalf("DEBUG SLEEP: %v", err)
	}
	l.settle(t, base, token, url, cancel, loaded)
	unknown := l.checkRefusals(t, base, token)
	slowest := time.Duration(l.slowest.Load())
	t.Logf("the slowest request took %v", slowest)
	if unknown == 0 && slowest < 2*time.Second {
		t.Errorf("no write answered 503 \"outcome unknown\" and no request took longer than scimd's 2 s read timeout (the slowest %v) while Redis slept 5 s (%d writes answered 503); answers by status: %v", slowest, len(l.refused), l.statuses)
	}
}

// checkRefusals sends every write l saw answered 503 again, and checks that
// the answer agrees with what the 503 said: a write refused with "the store
// is unavailable" was not made (its retry creates the user, deletes it; the
// user is not yet a member), and one whose outcome was unknown was made or
// not, as its retry tells (a creation that was made answers 409, a deletion
// 404). Either way the write is then in the store. It returns how many had
// an unknown outcome. Call it once the load has stopped.
func (l *ledger) checkRefusals(t *testing.T, base, token string) (unknown int) {
	t.Helper()
	ctx := context.Background()
	l.mu.Lock()
	defer l.mu.Unlock()
	made := 0
	for _, r := range l.refused {
		if r.unknown {
			unknown++
		}
		switch r.method {
		case "POST":
			status, body := request(ctx, "POST", base+"/scim/v2/Users", token, userBody(r.key))
			switch {
			case status == http.StatusConflict && r.unknown:
				made++
			case status != http.StatusCreated:
				t.Errorf("POST %s again after a 503 (outcome unknown: %t) = %d %v, want 201 (it was not made) or, if the outcome was unknown, 409", r.key, r.unknown, status, body["detail"])
			}
			filter := neturl.QueryEscape(`userName eq "` + r.key + `"`)
			if status, list := request(ctx, "GET", base+"/scim/v2/Users?filter="+filter, token, ""); status != http.StatusOK || list["totalResults"] != float64(1) {
				t.Errorf("GET the user %s after its creation was retried = %d, totalResults %v; want 200, 1", r.key, status, list["totalResults"])
			}
		case "DELETE":
			status, body := request(ctx, "DELETE", base+"/scim/v2/Users/"+r.key, token, "")
			switch {
			case status == http.StatusNotFound && r.unknown:
				made++
			case status != http.StatusNoContent:
				t.Errorf("DELETE %s again after a 503 (outcome unknown: %t) = %d %v, want 204 (it was not made) or, if the outcome was unknown, 404", r.key, r.unknown, status, body["detail"])
			}
		case "PATCH":
			if l.tried[r.key] {
				continue // the user was deleted since
			}
			status, u := request(ctx, "GET", base+"/scim/v2/Users/"+r.key+"?attributes=groups", token, "")
			if status != http.StatusOK {
				t.Errorf("GET user %s = %d, want 200", r.key, status)
				continue
			}
			if slices.ContainsFunc(groupIDs(u), func(g string) bool { return g == r.group }) && !r.unknown {
				t.Errorf("user %s is a member of group %s, though adding it answered 503 \"unavailable\" (not made)", r.key, r.group)
			}
		}
	}
	t.Logf("%d writes answered 503, %d of them with an unknown outcome, %d of which had been made", len(l.refused), unknown, made)
	return unknown
}

// groupIDs returns the ids of a user's groups, as GET /Users/{id} shows them.
func groupIDs(u map[string]any) []string {
	var ids []string
	gs, _ := u["groups"].([]any)
	for _, g := range gs {
		if m, ok := g.(map[string]any); ok {
			id, _ := m["value"].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

// TestFaultRedisOutOfMemory fills Redis to its maxmemory (noeviction) under a
// write load: writes fail, and once memory is raised they succeed again; no
// acknowledged write is lost and the store checks clean.
func TestFaultRedisOutOfMemory(t *testing.T) {
	url := redistest.StartWith(t, "--maxmemory-policy", "noeviction")
	const token = "fault-redis-oom-token-123456"
	base, _ := start(t, faultEnv(url, token))
	rdb := redisClient(t, url)
	ctx := context.Background()
	info := rdb.Info(ctx, "memory").Val()
	m := regexp.MustCompile(`used_memory:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("INFO memory has no used_memory: %s", info)
	}
	var mem int64
	fmt.Sscan(m[1], &mem)
	if err := rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(mem+2<<20)).Err(); err != nil {
		t.Fatalf("CONFIG SET maxmemory: %v", err)
	}

	l := newLedger()
	lctx, cancel := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() { load(lctx, base, token, createGroups(t, base, token, "oom", 2), 8, l); close(loaded) }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l.failed() >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write failed within 60s of filling Redis; answers: %v", l.statuses)
		}
	}
	time.Sleep(200 * time.Millisecond) // more requests meet the full Redis
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatalf("CONFIG SET maxmemory 0: %v", err)
	}
	l.settle(t, base, token, url, cancel, loaded)
}

// TestFaultReplicaPromoted fails Redis over to its replica (FAILOVER: the
// primary waits for the replica to catch up, then becomes its replica) under
// a write load: scimd, still pointed at the old primary, answers writes 503
// (READONLY), and the new primary has every acknowledged write and checks
// clean.
func TestFaultReplicaPromoted(t *testing.T) {
	primary := redistest.StartWith(t, "--repl-diskless-sync-delay", "0") // the replica syncs at once
	opts, _ := redis.ParseURL(primary)
	host, port, _ := strings.Cut(opts.Addr, ":")
	replica := redistest.StartWith(t, "--replicaof", host, port)
	const token = "fault-replica-promoted-token"
	base, _ := start(t, faultEnv(primary, token))
	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() { load(ctx, base, token, createGroups(t, base, token, "failover", 2), 8, l); close(loaded) }()
	waitAcked(t, l, 100, 20*time.Second)
	ropts, _ := redis.ParseURL(replica)
	rhost, rport, _ := strings.Cut(ropts.Addr, ":")
	p, r := redisClient(t, primary), redisClient(t, replica)
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.Info(context.Background(), "replication").Val(), "state=online"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not come online within 20s")
		}
	}
	t.Logf("replica online")
	if err := p.Do(context.Background(), "FAILOVER", "TO", rhost, rport, "TIMEOUT", "10000").Err(); err != nil {
		t.Fatalf("FAILOVER: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(r.Info(context.Background(), "replication").Val(), "role:master"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica was not promoted within 20s")
		}
	}
	t.Logf("replica promoted")
	time.Sleep(300 * time.Millisecond) // writes meet the demoted primary
	cancel()
	<-loaded
	l.mu.Lock()
	unavailable := l.statuses[http.StatusServiceUnavailable]
	l.mu.Unlock()
	if unavailable == 0 {
		t.Errorf("no write answered 503 after the failover; answers: %v", l.statuses)
	}
	// What scimd acknowledged is on the new primary, served by a scimd
	// pointed at it.
	promoted, _ := start(t, faultEnv(replica, token))
	l.verify(t, promoted, token)
	mustCheck(t, replica)
	l.onlySuccessOr503(t)
}

// bulkCycle is a /Bulk request that creates n users, each the manager of the
// next and the last of the first: a cycle scimd resolves by creating them
// all, then linking them with PATCHes.
func bulkCycle(prefix string, n int) string {
	ops := make([]string, n)
	for i := range n {
		ops[i] = fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":"u%d","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"%s-%d@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"bulkId:u%d"}}}}`,
			i, prefix, i, (i+1)%n)
	}
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// TestFaultScimdKilledMidBulk kills scimd (SIGKILL) in the middle of a /Bulk
// request of 999 users that manage each other in a cycle. The operations
// that ran stay (scimd keeps no journal to undo them after a crash; a client
// that got no answer retries the /Bulk, whose POSTs then find their userNames
// taken), but the store checks clean: every operation was one atomic script.
// A write acknowledged before the crash is still there.
func TestFaultScimdKilledMidBulk(t *testing.T) {
	url := redistest.Start(t)
	const token = "fault-killed-bulk-token-1234"
	env := faultEnv(url, token)
	p := startProcess(t, env)
	before := newLedger()
	load(ctxAfter(t, 200*time.Millisecond), p.base, token, createGroups(t, p.base, token, "bulk", 2), 4, before)

	rdb := redisClient(t, url)
	n0 := rdb.ZCard(context.Background(), "scimd:{default}:all:user").Val()
	const n = 999
	go func() {
		_, _ = request(context.Background(), "POST", p.base+"/scim/v2/Bulk", token, bulkCycle("bulk", n))
	}()
	for deadline := time.Now().Add(30 * time.Second); rdb.ZCard(context.Background(), "scimd:{default}:all:user").Val() < n0+50; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the /Bulk created fewer than 50 users in 30s")
		}
	}
	p.kill()
	made := rdb.ZCard(context.Background(), "scimd:{default}:all:user").Val() - n0
	t.Logf("scimd killed after the /Bulk created %d of %d users", made, n)
	if made >= n {
		t.Logf("the /Bulk finished its creations before the kill: this run tested a kill during its PATCHes at most")
	}

	mustCheck(t, url)
	p = startProcess(t, env)
	before.verify(t, p.base, token)
}

// TestFaultScimdKilledMidRename kills scimd (SIGKILL) four times while it
// renames a group again and again and a write load (creates, member adds to
// that group, deletes) runs: each kill lands with requests under way (at
// least one, counted by the client, over the four). After each, the store
// checks clean; in the end every acknowledged write is present, and the group
// has the last name acknowledged or one sent after it.
func TestFaultScimdKilledMidRename(t *testing.T) {
	url := redistest.Start(t)
	const token = "fault-killed-rename-token-12"
	env := faultEnv(url, token)
	p := startProcess(t, env)
	gid := createGroups(t, p.base, token, "rename", 1)[0]
	l := newLedger()
	var (
		mu        sync.Mutex
		names     []string // every name sent, in order
		lastAcked = -1     // index in names of the last acknowledged rename
	)
	underWay := int64(0) // requests under way at the kills, in all
	for round := range 4 {
		ctx, cancel := context.WithCancel(context.Background())
		loaded := make(chan struct{})
		go func() { load(ctx, p.base, token, []string{gid}, 8, l); close(loaded) }()
		renamed := make(chan struct{})
		go func() {
			defer close(renamed)
			for i := 0; ctx.Err() == nil; i++ {
				mu.Lock()
				name := fmt.Sprintf("Everyone %d-%d", round, i)
				names = append(names, name)
				n := len(names) - 1
				mu.Unlock()
				l.inFlight.Add(1)
				status, _ := request(ctx, "PATCH", p.base+"/scim/v2/Groups/"+gid+"?excludedAttributes=members", token,
					`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"`+name+`"}]}`)
				l.inFlight.Add(-1)
				if status == http.StatusOK {
					mu.Lock()
					lastAcked = max(lastAcked, n)
					mu.Unlock()
				}
			}
		}()
		waitAcked(t, l, 50, 20*time.Second)
		n := l.inFlight.Load()
		p.kill()
		cancel()
		<-loaded
		<-renamed
		underWay += n
		t.Logf("round %d: scimd killed with %d requests under way", round, n)
		mustCheck(t, url, "--org", "default")
		p = startProcess(t, env)
	}
	if underWay == 0 {
		t.Errorf("no request was under way at any of the kills: the test did not kill scimd mid-operation")
	}
	l.verify(t, p.base, token)
	status, g := request(context.Background(), "GET", p.base+"/scim/v2/Groups/"+gid+"?attributes=displayName", token, "")
	mu.Lock()
	defer mu.Unlock()
	if lastAcked < 0 {
		t.Fatalf("no rename was acknowledged")
	}
	if status != http.StatusOK || !slices.Contains(names[lastAcked:], fmt.Sprint(g["displayName"])) {
		t.Errorf("GET the renamed group = %d %v, want the last acknowledged name %q or one sent after it", status, g["displayName"], names[lastAcked])
	}
}

// faultEnv is scimd's environment in the fault tests: Redis at url, the
// bootstrap token, and no per-token rate limit (the load is one token's).
func faultEnv(url, token string) map[string]string {
	return map[string]string{"SCIM_REDIS_URL": url, "SCIM_BOOTSTRAP_TOKEN": token, "SCIM_TOKEN_RATE": "-1"}
}

// ctxAfter is a context that ends after d, or with the test.
func ctxAfter(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
