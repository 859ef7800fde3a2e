package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
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
	// close stops the server and removes the document.
	close func()
}

// baselineChildEnv, when set in scimload's environment, makes it serve the
// baseline for a parent scimload instead of measuring (see
// [startBaselineProcess]); its value is the Redis URL.
const baselineChildEnv = "SCIMLOAD_BASELINE_REDIS_URL"

// baselineSharedEnv, set to "1" with [baselineChildEnv], makes the child
// send its GETs through go-redis's blocking autopipeliner, so that the GETs
// of concurrent requests share pipelines as scimd's reads do: a reference
// for what that alone gives a bare server, not the ceiling.
const baselineSharedEnv = "SCIMLOAD_BASELINE_SHARED"

// startBaseline starts the baseline: in a process of its own unless
// inProcess is set.
func startBaseline(ctx context.Context, redisURL string, inProcess bool) (*baseline, error) {
	if inProcess {
		return startBaselineServer(ctx, redisURL, false)
	}
	return startBaselineProcess(ctx, redisURL, false)
}

// startBaselineProcess runs the baseline server in a child process, this
// same executable with [baselineChildEnv] set: then the baseline, like scimd,
// is a process apart from the load tool, and each request crosses the same
// process boundaries. (Served inside the load tool, a request wakes no other
// process between client and server: measured on this project's 2-core
// machine, that made the in-process floor 17 to 19 % higher than the same
// handler in a process of its own.) The child stops when its standard input
// closes.
// shared sends its GETs through a shared pipeline (see [baselineSharedEnv]).
func startBaselineProcess(ctx context.Context, redisURL string, shared bool) (*baseline, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("baseline: find this executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), baselineChildEnv+"="+redisURL)
	if shared {
		cmd.Env = append(cmd.Env, baselineSharedEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("baseline: start the server process: %w", err)
	}
	stop := func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		stop()
		return nil, fmt.Errorf("baseline: the server process did not start (said %q): %v", line, err)
	}
	return &baseline{url: strings.TrimSpace(line), close: stop}, nil
}

// serveBaselineChild is the child side of [startBaselineProcess]: it serves
// the baseline, prints its URL on stdout and returns when stdin closes.
func serveBaselineChild(redisURL string, stdin io.Reader, stdout io.Writer) error {
	ctx := context.Background()
	b, err := startBaselineServer(ctx, redisURL, os.Getenv(baselineSharedEnv) == "1")
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintln(stdout, b.url)
	_, _ = io.Copy(io.Discard, stdin) // until the parent closes it or exits
	return nil
}

// startBaselineServer stores the document in Redis and serves it on a
// loopback port, in this process, until close; shared sends the GETs
// through go-redis's blocking autopipeliner.
func startBaselineServer(ctx context.Context, redisURL string, shared bool) (*baseline, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("baseline: redis url: %w", redisURLError(err))
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
	var get redis.Cmdable = rdb
	if shared {
		ap, err := rdb.AutoPipeline()
		if err != nil {
			_ = rdb.Close()
			return nil, fmt.Errorf("baseline: autopipeliner: %w", err)
		}
		get = ap
	}
	srv := &http.Server{Handler: baselineHandler(get), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		// Serve returns ErrServerClosed after close; any other failure
		// shows as errors in the baseline row.
		_ = srv.Serve(ln)
	}()
	return &baseline{url: "http://" + ln.Addr().String(), close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		_ = rdb.Del(ctx, baselineKey).Err()
		_ = rdb.Close()
	}}, nil
}

// baselineHandler answers every request with the document read from Redis.
func baselineHandler(rdb redis.Cmdable) http.Handler {
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
