package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/internal/logtest"
)

func TestRedisLoggerWritesJSONWithoutCredentials(t *testing.T) {
	var buf bytes.Buffer
	l := redisLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	for _, c := range []struct{ format, arg, want string }{
		{"redis: connection pool: failed to dial after %d attempts: %v", "", "failed to dial after 3 attempts"},
		{"sentinel: cannot use %s", "redis://:hunter2-secret@10.0.0.1:6379/0", "redis://REDACTED@10.0.0.1:6379/0"},
		{"dial %s", "rediss://user:p/a@ss-hunter2@host:6380", "rediss://REDACTED@host:6380"},
		{"two %s", "redis://a:hunter2@h1 and unix://b:hunter2@/tmp/redis.sock", "redis://REDACTED@h1 and unix://REDACTED@/tmp/redis.sock"},
	} {
		buf.Reset()
		if c.arg == "" {
			l.Printf(context.Background(), c.format, 3, "dial tcp 127.0.0.1:1: connect: connection refused")
		} else {
			l.Printf(context.Background(), c.format, c.arg)
		}
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("Printf(%q) wrote %q, not one JSON line: %v", c.format, buf.String(), err)
		}
		detail, _ := line["detail"].(string)
		if line["level"] != "WARN" || line["msg"] != "redis client" || !strings.Contains(detail, c.want) {
			t.Errorf("Printf(%q, %q) logged %v, want level WARN, msg \"redis client\" and a detail with %q", c.format, c.arg, line, c.want)
		}
		if strings.Contains(buf.String(), "hunter2") {
			t.Errorf("Printf(%q, %q) logged a password: %s", c.format, c.arg, buf.String())
		}
	}
}

// TestRedisLoggerImplementsGoRedis: go-redis accepts the adapter, and its
// failed dials go through it.
func TestRedisLoggerImplementsGoRedis(t *testing.T) {
	var buf logtest.Buffer
	redis.SetLogger(redisLogger{slog.New(slog.NewJSONHandler(&buf, nil))})
	// Process-wide: put back a logger that writes where go-redis's does.
	t.Cleanup(func() { SetLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil))) })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING on a closed port succeeded")
	}
	if !strings.Contains(buf.String(), `"msg":"redis client"`) || !strings.Contains(buf.String(), "failed to dial") {
		t.Errorf("a failed dial logged %q, want a JSON line", buf.String())
	}
}
