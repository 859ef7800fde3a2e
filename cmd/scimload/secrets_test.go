package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// scimload's -redis-url defaults to $SCIM_REDIS_URL as a flag default,
// so -h of every subcommand prints it, password included (the token is kept
// out of -h on purpose); bench's and scaleout's parse errors quote it too.
func TestScimloadNeverShowsRedisPassword(t *testing.T) {
	env := map[string]string{"SCIM_REDIS_URL": "redis://:load-redis-secret@127.0.0.1:1/0"}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{{"-h"}, {"bench", "-h"}, {"soak", "-h"}, {"scaleout", "-h"},
		{"bench", "-scimd", "/bin/true", "-wrk", "/bin/true", "-redis-url", "redis://:load-redis-secret @127.0.0.1:1/0"},
		{"scaleout", "-scimd", "/bin/true", "-redis-url", "redis://:load-redis-secret@127.0.0.1:1/0"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, getenv, &stdout, &stderr)
		text := stdout.String() + stderr.String()
		if err != nil {
			text += err.Error()
		}
		if strings.Contains(text, "load-redis-secret") {
			t.Errorf("scimload %q shows the Redis password:\n%s", args, text)
		}
	}
}

// A Redis URL that does not parse is never quoted, password and all, by
// any command: soak, scaleout and the baseline as bench.
func TestScimloadParseErrorsHideRedisPassword(t *testing.T) {
	bad := "redis://:load-redis-secret @127.0.0.1:1/0"
	getenv := func(k string) string {
		if k == "SCIM_BOOTSTRAP_TOKEN" {
			return "tok"
		}
		return ""
	}
	for _, args := range [][]string{
		{"soak", "-metrics-url", "http://127.0.0.1:1/metrics", "-redis-url", bad},
		{"scaleout", "-scimd", "/bin/true", "-redis-url", "redis+cluster://:load-redis-secret @127.0.0.1:1"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, getenv, &stdout, &stderr)
		text := stdout.String() + stderr.String()
		if err != nil {
			text += err.Error()
		}
		if strings.Contains(text, "load-redis-secret") {
			t.Errorf("scimload %q shows the Redis password:\n%s", args, text)
		}
	}
	if _, err := startBaselineServer(context.Background(), bad, false); err == nil || strings.Contains(err.Error(), "load-redis-secret") {
		t.Errorf("baseline: err = %v, shows the Redis password", err)
	}
}
