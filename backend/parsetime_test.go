package backend

import (
	"testing"
	"time"
)

// parseTime reads what time.Parse(tsFormat, …) reads, to the nanosecond and
// the location, and its fast path (parseTS) takes no time time.Parse refuses.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-12-06T19:47:33.114749403Z", "2024-02-29T23:59:59.999999999Z", "0000-01-01T00:00:00.000000000Z",
		"2025-02-29T00:00:00.000000000Z", "2026-04-31T00:00:00.000000000Z", "2026-13-01T00:00:00.000000000Z",
		"2026-00-01T00:00:00.000000000Z", "2026-01-00T00:00:00.000000000Z", "2026-01-01T24:00:00.000000000Z",
		"2026-01-01T00:60:00.000000000Z", "2026-01-01T00:00:60.000000000Z", "2026-01-01T00:00:00.00000000xZ",
		"2026-01-01T00:00:00.000000000", "2026-01-01 00:00:00.000000000Z", "+026-01-01T00:00:00.000000000Z",
		"2026-1-01T00:00:00.0000000000Z", "", "1733514453114749403", "not a time",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := time.Parse(tsFormat, s)
		if got, ok := parseTS(s); ok && (wantErr != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Fatalf("parseTS(%q) = %v, true; time.Parse: %v, %v", s, got, want, wantErr)
		}
		if got := parseTime(s); !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("parseTime(%q) = %v; time.Parse: %v, %v", s, got, want, wantErr)
		}
	})
}

// BenchmarkParseTime is the cost of a stored time's read: two per resource
// read.
func BenchmarkParseTime(b *testing.B) {
	var v any = "2026-12-06T19:47:33.114749403Z"
	for b.Loop() {
		parseTime(v)
	}
}
