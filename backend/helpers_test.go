package backend

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// hasRedis reports whether the real-Redis variant should run: redis-server is
// on PATH, or SCIM_REQUIRE_REDIS=1 makes its absence a failure.
func hasRedis(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv("SCIM_REQUIRE_REDIS") == "1" {
		return true
	}
	_, err := exec.LookPath("redis-server")
	return err == nil
}

func fmtAny(v any) string { return fmt.Sprint(v) }
