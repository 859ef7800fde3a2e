package resources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretNeverShows: a Secret prints, logs and encodes as REDACTED, in a
// struct too; only Reveal gives it away.
func TestSecretNeverShows(t *testing.T) {
	const text = "hunter2-is-the-password"
	holder := struct{ Password Secret }{Secret(text)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "password", holder.Password)
	encoded, err := json.Marshal(holder)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	for how, out := range map[string]string{
		"%v": fmt.Sprintf("%v", holder), "%+v": fmt.Sprintf("%+v", holder), "%#v": fmt.Sprintf("%#v", holder),
		"%s": fmt.Sprintf("password=%s", holder.Password), "slog": logged.String(), "json": string(encoded),
	} {
		if strings.Contains(out, text) || !strings.Contains(out, "REDACTED") {
			t.Errorf("%s shows %q, want REDACTED", how, out)
		}
	}
	if holder.Password.Reveal() != text {
		t.Errorf("Reveal = %q, want the secret", holder.Password.Reveal())
	}
}
