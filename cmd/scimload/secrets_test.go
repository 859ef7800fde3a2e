package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// scimload never shows the Redis URL's password: not in -h (the flag's
// default is filled in after parsing, as the token's is), and not in an
// error about a URL that does not parse (soak, scaleout, the baseline as
// bench uses it).
func TestScimloadNeverShowsRedisPassword(t *testing.T) {
	env := map[string]string{"SCIM_REDIS_URL": "redis://:load-redis-secret@127.0.0.1:1/0", "SCIM_BOOTSTRAP_TOKEN": "tok"}
	getenv := func(k string) string { return env[k] }
	const bad = "redis://:load-redis-secret @127.0.0.1:1/0"
	for _, args := range [][]string{{"-h"}, {"bench", "-h"}, {"soak", "-h"}, {"scaleout", "-h"},
		{"bench", "-scimd", "/bin/true", "-wrk", "/bin/true", "-redis-url", bad},
		{"scaleout", "-scimd", "/bin/true", "-redis-url", "redis://:load-redis-secret@127.0.0.1:1/0"},
		{"scaleout", "-scimd", "/bin/true", "-redis-url", "redis+cluster://:load-redis-secret @127.0.0.1:1"},
		{"soak", "-metrics-url", "http://127.0.0.1:1/metrics", "-redis-url", bad}} {
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
