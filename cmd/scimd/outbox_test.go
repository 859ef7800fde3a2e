package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/logtest"
)

// TestOutboxCommand: with the development outbox, the server's log names
// each message's file (never its link), and "scimd outbox" lists the
// messages newest first with their links decoded, ready to open.
func TestOutboxCommand(t *testing.T) {
	outbox := filepath.Join(t.TempDir(), "outbox")
	env := map[string]string{"SCIM_BOOTSTRAP_TOKEN": "test-bootstrap-token-xyz", "SCIM_MAIL_OUTBOX": outbox}
	getenv := func(k string) string { return env[k] }
	outboxRun := func(args ...string) string {
		t.Helper()
		var out logtest.Buffer
		if err := run(context.Background(), append([]string{"outbox"}, args...), getenv, &out, &out); err != nil {
			t.Fatalf("scimd outbox %v: %v", args, err)
		}
		return out.String()
	}
	if got := outboxRun(); !strings.Contains(got, "No messages in the outbox "+outbox) {
		t.Errorf("scimd outbox before any mail = %q, want it to say the outbox is empty", got)
	}

	base, _, logs := startLogged(t, env)
	for _, u := range []string{"first@example.com", "second@example.com"} {
		status, body := call(t, "POST", base+"/scim/v2/Users", "test-bootstrap-token-xyz",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+u+`",
			  "urn:scim:schemas:extension:customer:2.0:User":{"passwordSetup":"invite"}}`)
		if status != 201 {
			t.Fatalf("POST /Users %s = %d %v", u, status, body)
		}
	}

	got := outboxRun()
	linkRE := regexp.MustCompile(`(?m)^  (` + regexp.QuoteMeta(base) + `/t/default/accounts/invite\?token=[A-Za-z0-9_-]{43})$`)
	links := linkRE.FindAllStringSubmatch(got, -1)
	first, second := strings.Index(got, "to first@example.com"), strings.Index(got, "to second@example.com")
	if len(links) != 2 || first < 0 || second < 0 || second > first || !strings.Contains(got, "2 message(s)") {
		t.Fatalf("scimd outbox = \n%s\nwant both messages, newest (second@) first, each with its decoded link", got)
	}
	// The printed link works: it opens the invitation form.
	resp, err := http.Get(links[0][1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Set your password") {
		t.Errorf("GET the printed link = %d:\n%s", resp.StatusCode, page)
	}
	if got := outboxRun("--count", "1"); strings.Contains(got, "first@example.com") || !strings.Contains(got, "second@example.com") {
		t.Errorf("scimd outbox --count 1 = \n%s\nwant only the newest message", got)
	}

	// The server's log names each file, never a link or a token.
	var files []string
	for _, l := range strings.Split(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "mail written to the outbox" {
			f, _ := m["file"].(string)
			files = append(files, f)
		}
	}
	if len(files) != 2 || filepath.Dir(files[0]) != outbox || !strings.Contains(got, files[1]) {
		t.Errorf("log lines of written mail name %q, want the two files in %s", files, outbox)
	}
	if strings.Contains(logs.String(), "token=") {
		t.Errorf("the server's log holds a link:\n%s", logs.String())
	}
}
