package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// baselineKey holds the baseline's document in the Redis scimd uses.
const baselineKey = "scimload:baseline:doc"

// baselineDoc is a user as scimd returns it, about 600 bytes.
const baselineDoc = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:scim:schemas:extension:customer:2.0:User"],` +
	`"id":"4b0c6f9e-2d7a-4c1e-9a53-8f2e6d1b7c40","externalId":"load-4242","userName":"load004242@example.com",` +
	`"name":{"givenName":"Load","familyName":"User004242"},"userType":"Customer","active":true,` +
	`"emails":[{"value":"load004242@example.com","type":"work","primary":true}],` +
	`"urn:scim:schemas:extension:customer:2.0:User":{"accountState":"active"},` +
	`"meta":{"resourceType":"User","created":"2026-01-15T09:30:00Z","lastModified":"2026-01-15T09:30:00Z",` +
	`"location":"http://localhost:8080/scim/v2/Users/4b0c6f9e-2d7a-4c1e-9a53-8f2e6d1b7c40","version":"W/\"1\""}}`

// baseline is an HTTP server whose every answer is one Redis GET: the floor
// for any Redis-backed HTTP server on this machine, measured with the same
// client as scimd.
type baseline struct {
	url string
	srv *http.Server
	rdb *redis.Client
	// served ends when the server stops serving.
	served chan struct{}
}

// startBaseline stores the document in Redis and serves it on a loopback
// port until close.
func startBaseline(ctx context.Context, redisURL string) (*baseline, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("baseline: redis url: %w", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Set(ctx, baselineKey, baselineDoc, 0).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("baseline: store the document: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("baseline: listen: %w", err)
	}
	b := &baseline{
		url:    "http://" + ln.Addr().String(),
		srv:    &http.Server{Handler: baselineHandler(rdb), ReadHeaderTimeout: 10 * time.Second},
		rdb:    rdb,
		served: make(chan struct{}),
	}
	go func() {
		defer close(b.served)
		// Serve returns ErrServerClosed after close; any other failure
		// shows as errors in the baseline row.
		_ = b.srv.Serve(ln)
	}()
	return b, nil
}

// baselineHandler answers every request with the document read from Redis.
func baselineHandler(rdb *redis.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := rdb.Get(r.Context(), baselineKey).Bytes()
		if err != nil {
			http.Error(w, "redis GET failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(doc)
	})
}

// close stops the server, removes the document and closes the Redis client.
func (b *baseline) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	<-b.served
	_ = b.rdb.Del(ctx, baselineKey).Err()
	_ = b.rdb.Close()
}
