package redistest

import (
	"fmt"
	"os"
	"testing"
)

// FiguresEnv names the file to which [Figures] appends, when set: CI
// (.ci/run) prints it after `go test ./...`, which shows no log of a test
// that passed.
const FiguresEnv = "SCIM_TEST_FIGURES"

// Figures logs a line of measured figures (a failover's recovery time) and,
// when the environment names a file in [FiguresEnv], appends it there,
// prefixed with the test's name. Test binaries run side by side append
// whole lines (O_APPEND, one write each).
func Figures(tb testing.TB, format string, args ...any) {
	tb.Helper()
	line := fmt.Sprintf(format, args...)
	tb.Log(line)
	path := os.Getenv(FiguresEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Errorf("%s: %v", FiguresEnv, err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(tb.Name() + ": " + line + "\n"); err != nil {
		tb.Errorf("%s: %v", FiguresEnv, err)
	}
}
