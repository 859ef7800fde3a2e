package main

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/scim"
)

// shareWithReplicas makes api one of the replicas on store's Redis: its
// abuse limits count in Redis for all of them, and it hears at once, through
// Redis pub/sub, of tokens revoked and addresses blocked by any of them (the
// CLI too). While the subscription is lost, a token revoked elsewhere keeps
// working here for at most the token cache time, as it would without it; on
// resubscribing, the cache is emptied, since revocations may have been
// missed. The embedded store serves one process: its limits stay in the
// process. stop ends the subscription and waits for it.
func shareWithReplicas(ctx context.Context, store *backend.Store, api *scim.Handler, log *slog.Logger) (stop func()) {
	if store.Embedded() {
		return func() {}
	}
	api.ShareLimits(store)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var lost atomic.Bool
	go func() {
		defer close(done)
		_ = store.WatchEvents(ctx, backend.Events{
			TokenRevoked:   api.ForgetToken,
			AddressBlocked: api.BlockClient,
			Subscribed: func() {
				api.ForgetAllTokens()
				if lost.CompareAndSwap(true, false) {
					log.Info("replica events subscribed again; token cache emptied")
				}
			},
			Lost: func(err error) {
				lost.Store(true)
				log.Warn("replica events lost: tokens revoked through other processes work here until the token cache expires", "err", err, "token_cache", tokenCacheTTL)
			},
		})
	}()
	return func() { cancel(); <-done }
}

// limitFallbacksMetric counts the abuse-limit decisions api made alone because
// the shared counts in Redis could not be reached.
func limitFallbacksMetric(api *scim.Handler) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "scimd_limit_fallbacks_total",
		Help: "Abuse-limit decisions made by this process alone because the shared counts in Redis were unreachable.",
	}, func() float64 { return float64(api.LimitFallbacks()) })
}
