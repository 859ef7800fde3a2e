package scim

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMetricsObserve is what counting one request costs.
func BenchmarkMetricsObserve(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	r := httptest.NewRequest("GET", "/scim/v2/Users/1", nil)
	r.Pattern = "GET /scim/v2/Users/{id}"
	for b.Loop() {
		m.observe(r, 200, time.Millisecond)
	}
}
