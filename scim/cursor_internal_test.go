package scim

import (
	"context"
	"testing"
	"time"

	"github.com/scimd/scimd/resources"
)

// TestCursorRoundTrip: what encodeCursor seals, decodeCursor opens, for the
// same query only.
func TestCursorRoundTrip(t *testing.T) {
	aead, err := (&cursorSigner{}).cipher(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fp := fingerprint("acme", "/Users", listParams{filter: `userName sw "j"`, sortBy: "userName"})
	now := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		at     *resources.Position
		before bool
	}{
		{nil, false},
		{&resources.Position{Seq: 42, ID: "id-1"}, false},
		{&resources.Position{Seq: 7, HasKey: true, Key: "jane@example.com", ID: "id-2"}, true},
		{&resources.Position{HasKey: true, Key: "", ID: "id-3"}, false},
	} {
		s := encodeCursor(aead, fp, now, tc.at, tc.before)
		c, err := decodeCursor(aead, fp, s)
		if err != nil {
			t.Fatalf("decodeCursor(encodeCursor(%+v)) = %v", tc.at, err)
		}
		if c.seek.Before != tc.before || !c.issued.Equal(now) || (c.seek.From == nil) != (tc.at == nil) || tc.at != nil && *c.seek.From != *tc.at {
			t.Errorf("round trip of %+v, before %v = %+v, issued %v", tc.at, tc.before, c.seek, c.issued)
		}
		other := fingerprint("acme", "/Users", listParams{filter: `userName sw "k"`, sortBy: "userName"})
		if _, err := decodeCursor(aead, other, s); resources.ErrorCode(err) != resources.InvalidCursor {
			t.Errorf("decodeCursor with another query's fingerprint = %v, want InvalidCursor", err)
		}
	}
}

// FuzzDecodeCursor: no cursor a client sends makes decoding panic, and
// only sealed ones decode.
func FuzzDecodeCursor(f *testing.F) {
	aead, err := (&cursorSigner{}).cipher(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	fp := fingerprint("acme", "/Users", listParams{})
	f.Add(encodeCursor(aead, fp, time.Now(), &resources.Position{Seq: 1, HasKey: true, Key: "k", ID: "i"}, false))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeCursor(aead, fp, s)
	})
}
