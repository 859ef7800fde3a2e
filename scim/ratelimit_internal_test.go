package scim

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestFailureLimiterWindow(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, blocked := l.blocked("a", t0); blocked {
			t.Fatalf("blocked after %d failures, want after 3", i)
		}
		if reached := l.fail("a", t0.Add(time.Duration(i)*time.Second)); reached != (i == 2) {
			t.Fatalf("fail %d reported reaching the limit = %v", i+1, reached)
		}
	}
	wait, blocked := l.blocked("a", t0.Add(10*time.Second))
	if !blocked || wait != 50*time.Second {
		t.Fatalf("blocked(10s) = %v, %v; want 50s, true", wait, blocked)
	}
	if _, blocked := l.blocked("b", t0); blocked {
		t.Fatalf("another client is blocked")
	}
	if _, blocked := l.blocked("a", t0.Add(time.Minute)); blocked {
		t.Fatalf("still blocked when the window ended")
	}
	if l.fail("a", t0.Add(time.Minute)); len(l.clients) != 1 || l.clients["a"].count != 1 {
		t.Fatalf("a failure after the window did not start a new one: %+v", l.clients["a"])
	}
	if newFailureLimiter(-1, 0) != nil {
		t.Errorf("a negative limit did not disable the limiter")
	}
	var off *failureLimiter
	if _, blocked := off.blocked("a", t0); blocked || off.fail("a", t0) {
		t.Errorf("a disabled limiter limits")
	}
}

// TestFailureLimiterReservations: begin reserves a failure, end settles it;
// a success leaves nothing behind, so that the limiter goes back to not
// tracking anyone.
func TestFailureLimiterReservations(t *testing.T) {
	l := newFailureLimiter(2, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		if _, ok := l.begin("a", t0); !ok {
			t.Fatalf("begin %d refused, want reserved", i+1)
		}
	}
	if wait, ok := l.begin("a", t0); ok || wait != time.Second {
		t.Fatalf("third concurrent begin = %v, %v; want refused, retry in 1s (two may still fail)", wait, ok)
	}
	l.end("a", false, t0)
	if !l.tracking() {
		t.Fatalf("not tracking with one attempt under way")
	}
	if reached := l.end("a", true, t0); reached {
		t.Fatalf("one failure reported reaching a limit of 2")
	}
	if _, ok := l.begin("a", t0); !ok {
		t.Fatalf("begin after one failure of two refused")
	}
	if reached := l.end("a", true, t0); !reached {
		t.Fatalf("the second failure did not report reaching the limit")
	}
	if wait, ok := l.begin("a", t0.Add(10*time.Second)); ok || wait != 50*time.Second {
		t.Fatalf("begin when blocked = %v, %v; want refused for the rest of the window, 50s", wait, ok)
	}
	if _, ok := l.begin("b", t0); !ok {
		t.Fatalf("another client refused")
	}
	l.end("b", false, t0)
	if _, kept := l.clients["b"]; kept {
		t.Errorf("a successful attempt left an entry behind")
	}
}

func TestFailureLimiterIsBounded(t *testing.T) {
	l := newFailureLimiter(5, time.Minute)
	t0 := time.Now()
	for i := range maxLimiterEntries + 10 {
		l.fail(strconv.Itoa(i), t0)
	}
	if len(l.clients) > maxLimiterEntries {
		t.Fatalf("%d clients tracked, want at most %d", len(l.clients), maxLimiterEntries)
	}
	// Expired windows go first, when the map is full.
	l = newFailureLimiter(5, time.Minute)
	for i := range maxLimiterEntries {
		l.fail(strconv.Itoa(i), t0)
	}
	l.fail("late", t0.Add(2*time.Minute))
	if len(l.clients) != 1 {
		t.Fatalf("%d clients tracked after every window expired, want 1", len(l.clients))
	}
}

func TestTokenLimiterBucket(t *testing.T) {
	l := newTokenLimiter(10, 3)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, ok := l.allow("k", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	wait, ok := l.allow("k", t0)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("4th request = %v, %v; want refused, 100ms", wait, ok)
	}
	if _, ok := l.allow("k", t0.Add(100*time.Millisecond)); !ok {
		t.Fatalf("refused after refilling one")
	}
	if _, ok := l.allow("other", t0); !ok {
		t.Fatalf("another key refused")
	}
	// Refills up to the burst, no further.
	for i := range 3 {
		if _, ok := l.allow("k", t0.Add(time.Hour)); !ok {
			t.Fatalf("request %d after an hour refused", i+1)
		}
	}
	if _, ok := l.allow("k", t0.Add(time.Hour)); ok {
		t.Fatalf("the bucket held more than its burst")
	}
	if newTokenLimiter(-1, 0) != nil {
		t.Errorf("a negative rate did not disable the limiter")
	}
	d := newTokenLimiter(0, 0)
	if d.rate != DefaultTokenRate || d.burst != DefaultTokenBurst {
		t.Errorf("defaults = %v/s burst %v, want %d/s burst %d", d.rate, d.burst, DefaultTokenRate, DefaultTokenBurst)
	}
}

func TestTokenLimiterIsBounded(t *testing.T) {
	l := newTokenLimiter(1, 2)
	t0 := time.Now()
	for i := range maxLimiterEntries {
		l.allow(strconv.Itoa(i), t0)
	}
	// Two seconds later every bucket is full again: the same as no entry.
	l.allow("late", t0.Add(2*time.Second))
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept after all refilled, want 1", len(l.buckets))
	}
}

func TestClientAddr(t *testing.T) {
	cases := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"192.0.2.1:1234", "", false, "192.0.2.1"},
		{"192.0.2.1:1234", "203.0.113.9", false, "192.0.2.1"},
		{"192.0.2.1:1234", "203.0.113.9", true, "203.0.113.9"},
		{"192.0.2.1:1234", "10.0.0.1, 203.0.113.9", true, "203.0.113.9"},
		{"192.0.2.1:1234", "", true, "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", false, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:443", "", false, "192.0.2.1"},
		{"pipe", "", false, "pipe"},
	}
	for _, c := range cases {
		h := &Handler{cfg: Config{TrustForwardedFor: c.trust}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := h.clientAddr(r); got != c.want {
			t.Errorf("clientAddr(%q, XFF %q, trust %v) = %q, want %q", c.remote, c.xff, c.trust, got, c.want)
		}
	}
}

// clientAddr returns an IPv4 address as written: the form netip writes it
// in, as no other form parses.
func FuzzIPv4AsWritten(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3.4%eth0", "::ffff:1.2.3.4", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ip, err := netip.ParseAddr(s); err == nil && ip.Is4() && ip.String() != s {
			t.Errorf("netip.ParseAddr(%q).String() = %q", s, ip.String())
		}
	})
}
