package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

const testToken = "test-token-0123456789"

// fakeSCIM is just enough of scimd for scimload: it checks the token and the
// shape of each request the way scimd would answer it.
type fakeSCIM struct {
	mu    sync.Mutex
	ids   []string          // users in creation order
	byID  map[string]string // id → userName
	names map[string]bool
	group string
	// groupStatus, when set, answers every group PATCH.
	groupStatus int
	maxCount    int
}

func newFakeSCIM(tb testing.TB) (*fakeSCIM, *httptest.Server) {
	tb.Helper()
	f := &fakeSCIM{byID: map[string]string{}, names: map[string]bool{}, maxCount: 7}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scim/v2/Users", f.createUser)
	mux.HandleFunc("GET /scim/v2/Users", f.listUsers)
	mux.HandleFunc("GET /scim/v2/Users/{id}", f.withUser(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id")})
	}))
	mux.HandleFunc("PATCH /scim/v2/Users/{id}", f.withUser(func(w http.ResponseWriter, r *http.Request) {
		f.patch(w, r, "name.givenName", func(v any) bool { s, ok := v.(string); return ok && s != "" })
	}))
	mux.HandleFunc("POST /scim/v2/Groups", f.createGroup)
	mux.HandleFunc("GET /scim/v2/Groups", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		group := f.group
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"totalResults": 1, "Resources": []any{map[string]any{"id": group, "displayName": loadGroupName}}})
	})
	mux.HandleFunc("PATCH /scim/v2/Groups/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		status := f.groupStatus
		f.mu.Unlock()
		if status != 0 {
			writeJSON(w, status, map[string]any{"detail": "the fake fails group PATCH"})
			return
		}
		f.groupPatch(w, r)
	})
	mux.HandleFunc("DELETE /scim/v2/Users/{id}", f.withUser(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.byID, r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "bad token"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return f, srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSCIM) createUser(w http.ResponseWriter, r *http.Request) {
	var u struct {
		UserName string            `json:"userName"`
		Name     map[string]string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil || !strings.HasSuffix(u.UserName, "@example.com") || u.Name["givenName"] == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": fmt.Sprintf("bad user body (%v)", err)})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.names[u.UserName] {
		writeJSON(w, http.StatusConflict, map[string]any{"scimType": "uniqueness"})
		return
	}
	id := "u" + strconv.Itoa(len(f.ids))
	f.ids = append(f.ids, id)
	f.byID[id] = u.UserName
	f.names[u.UserName] = true
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "userName": u.UserName})
}

func (f *fakeSCIM) listUsers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if filter := r.URL.Query().Get("filter"); filter != "" {
		name, ok := strings.CutPrefix(filter, "userName eq ")
		if n, err := strconv.Unquote(name); !ok || err != nil || !f.names[n] {
			writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "unexpected filter " + filter})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"totalResults": 1, "Resources": []any{}})
		return
	}
	start, err1 := strconv.Atoi(r.URL.Query().Get("startIndex"))
	count, err2 := strconv.Atoi(r.URL.Query().Get("count"))
	if err1 != nil || err2 != nil || start < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "bad paging"})
		return
	}
	var page []any
	for i := start - 1; i < len(f.ids) && len(page) < min(count, f.maxCount); i++ {
		page = append(page, map[string]any{"id": f.ids[i], "userName": f.byID[f.ids[i]]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalResults": len(f.ids), "startIndex": start, "itemsPerPage": len(page), "Resources": page})
}

func (f *fakeSCIM) withUser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		_, ok := f.byID[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"detail": "no user " + r.PathValue("id")})
			return
		}
		next(w, r)
	}
}

// patch accepts a PatchOp message with one operation on path whose value
// passes valid.
func (f *fakeSCIM) patch(w http.ResponseWriter, r *http.Request, path string, valid func(any) bool) {
	var msg struct {
		Schemas    []string  `json:"schemas"`
		Operations []patchOp `json:"Operations"`
	}
	err := json.NewDecoder(r.Body).Decode(&msg)
	if err != nil || len(msg.Schemas) != 1 || len(msg.Operations) != 1 || msg.Operations[0].Path != path || !valid(msg.Operations[0].Value) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": fmt.Sprintf("bad PATCH body (%v)", err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id")})
}

// groupPatch accepts a PatchOp message adding one member as Entra ID does,
// or removing one by a value filter (members[value eq "<id>"]).
func (f *fakeSCIM) groupPatch(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Schemas    []string  `json:"schemas"`
		Operations []patchOp `json:"Operations"`
	}
	err := json.NewDecoder(r.Body).Decode(&msg)
	ok := err == nil && len(msg.Schemas) == 1 && len(msg.Operations) == 1
	if ok {
		op := msg.Operations[0]
		var id string
		_, scanErr := fmt.Sscanf(op.Path, "members[value eq %q]", &id)
		f.mu.Lock()
		_, known := f.byID[id]
		f.mu.Unlock()
		ok = op.Op == "Add" && op.Path == "members" && f.isEntraMember(op.Value) ||
			op.Op == "remove" && scanErr == nil && known && op.Value == nil
	}
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": fmt.Sprintf("bad group PATCH body (%v)", err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id")})
}

// isEntraMember reports whether v is [{"$ref":null,"value":<a user id>}].
func (f *fakeSCIM) isEntraMember(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) != 1 {
		return false
	}
	m, _ := list[0].(map[string]any)
	ref, hasRef := m["$ref"]
	id, _ := m["value"].(string)
	f.mu.Lock()
	defer f.mu.Unlock()
	_, known := f.byID[id]
	return hasRef && ref == nil && known
}

func (f *fakeSCIM) createGroup(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.group != "" {
		writeJSON(w, http.StatusConflict, map[string]any{"scimType": "uniqueness"})
		return
	}
	f.group = "g1"
	writeJSON(w, http.StatusCreated, map[string]any{"id": f.group, "displayName": loadGroupName})
}

// runLoad runs scimload against srv with a tiny workload.
func runLoad(tb testing.TB, srv *httptest.Server, redisURL string, extra ...string) (stdout, stderr string, err error) {
	tb.Helper()
	args := append([]string{"-url", srv.URL + "/scim/v2/", "-users", "20", "-duration", "150ms",
		"-concurrency", "4", "-seed-concurrency", "5"}, extra...)
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": testToken, "SCIM_REDIS_URL": redisURL}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// tableRows maps each operation in the Markdown table to its cells.
func tableRows(out string) map[string][]string {
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| operation ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		rows[cells[0]] = cells
	}
	return rows
}

// TestMain lets the test binary serve the baseline as scimload does when
// started as its own child process.
func TestMain(m *testing.M) {
	if url := os.Getenv(baselineChildEnv); url != "" {
		if err := serveBaselineChild(url, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var allOperations = append([]string{"baseline"}, operationNames...)

func TestRun(t *testing.T) {
	mr := miniredis.RunT(t)
	redisURL := "redis://" + mr.Addr()
	_, srv := newFakeSCIM(t)

	// The runs share the fake, as runs share a real server: the second
	// finds the users by 409 and listing, the third by listing alone.
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"fresh seed", nil, "created 20, existing 0, failed 0"},
		{"seed again", nil, "found 20 of the 20 seeded users by listing"},
		{"skip seed", []string{"-skip-seed"}, "found 20 of the 20 seeded users by listing"},
		{"baseline in process", []string{"-skip-seed", "-baseline-in-process"}, "found 20 of the 20 seeded users by listing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runLoad(t, srv, redisURL, tt.args...)
			if err != nil {
				t.Fatalf("run() = %v, want nil; stdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			t.Logf("stdout:\n%s", stdout)
			rows := tableRows(stdout)
			for _, op := range allOperations {
				row, ok := rows[op]
				switch {
				case !ok:
					t.Errorf("table has no %q row:\n%s", op, stdout)
				case row[1] == "0":
					t.Errorf("%s row = %q, want some requests", op, row)
				case row[2] != "0":
					t.Errorf("%s row = %q, want 0 errors", op, row)
				}
			}
			if got := rows["baseline"][6]; got != "1.000" {
				t.Errorf("baseline ratio = %s, want 1.000", got)
			}
			if !strings.Contains(stdout, "- users seeded: 20 (in use: 20)") {
				t.Errorf("stdout = %q, want the machine facts", stdout)
			}
			where := "a process of its own"
			if slices.Contains(tt.args, "-baseline-in-process") {
				where = "the load tool's process"
			}
			if !strings.Contains(stdout, "- baseline served in: "+where) {
				t.Errorf("stdout = %q, want the baseline served in %s", stdout, where)
			}
			if mr.Exists(baselineKey) {
				t.Errorf("key %s still in Redis after the run", baselineKey)
			}
		})
	}
}

func TestRunSomeOperations(t *testing.T) {
	mr := miniredis.RunT(t)
	_, srv := newFakeSCIM(t)
	stdout, stderr, err := runLoad(t, srv, "redis://"+mr.Addr(), "-ops", "filter")
	if err != nil {
		t.Fatalf("run(-ops filter) = %v, want nil; stderr:\n%s", err, stderr)
	}
	rows := tableRows(stdout)
	if rows["baseline"] == nil || rows["filter"] == nil || len(rows) != 2 {
		t.Errorf("table rows = %q, want just baseline and filter", rows)
	}
}

func TestRunShowsErrors(t *testing.T) {
	mr := miniredis.RunT(t)
	fake, srv := newFakeSCIM(t)
	fake.groupStatus = http.StatusServiceUnavailable

	stdout, _, err := runLoad(t, srv, "redis://"+mr.Addr())
	if err == nil || !strings.Contains(err.Error(), "2 of 8 operations had errors") {
		t.Errorf("run() = %v, want the operations with errors counted", err)
	}
	rows := tableRows(stdout)
	if row := rows["member-add"]; row == nil || row[2] == "0" || row[2] != row[1] {
		t.Errorf("member-add row = %q, want every request an error", row)
	}
	if row := rows["get"]; row == nil || row[2] != "0" {
		t.Errorf("get row = %q, want 0 errors", row)
	}
	want := "status 503, want [200 204]: {\"detail\":\"the fake fails group PATCH\"}"
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout = %q, want the first error %q", stdout, want)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "from-env", "SCIM_REDIS_URL": "redis://r:6379"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		want    config
		wantErr string
	}{
		{name: "defaults and env", getenv: getenv, want: config{url: "http://localhost:8080/scim/v2", token: "from-env",
			redisURL: "redis://r:6379", users: 10000, duration: 10 * time.Second, concurrency: 16, seedConcurrency: 32}},
		{name: "flags win", args: []string{"-token", "flag", "-url", "https://s/scim/v2/", "-skip-seed", "-users", "5"}, getenv: getenv,
			want: config{url: "https://s/scim/v2", token: "flag", redisURL: "redis://r:6379", users: 5, duration: 10 * time.Second,
				concurrency: 16, seedConcurrency: 32, skipSeed: true}},
		{name: "no token", getenv: func(k string) string { return map[string]string{"SCIM_REDIS_URL": "redis://r"}[k] }, wantErr: "SCIM_BOOTSTRAP_TOKEN"},
		{name: "no redis", getenv: func(k string) string { return map[string]string{"SCIM_BOOTSTRAP_TOKEN": "t"}[k] }, wantErr: "SCIM_REDIS_URL"},
		{name: "no workers", args: []string{"-concurrency", "0"}, getenv: getenv, wantErr: "-concurrency 0"},
		{name: "bad url", args: []string{"-url", "localhost:8080"}, getenv: getenv, wantErr: "-url"},
		{name: "some operations", args: []string{"-ops", "get,create"}, getenv: getenv, want: config{url: "http://localhost:8080/scim/v2",
			token: "from-env", redisURL: "redis://r:6379", users: 10000, duration: 10 * time.Second, concurrency: 16, seedConcurrency: 32,
			ops: []string{"get", "create"}}},
		{name: "unknown operation", args: []string{"-ops", "get,delete"}, getenv: getenv, wantErr: `unknown operation "delete"`},
		{name: "stray argument", args: []string{"extra"}, getenv: getenv, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, tt.getenv, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseConfig(%q) = %+v, %v; want %+v, nil", tt.args, got, err, tt.want)
			}
		})
	}
}
