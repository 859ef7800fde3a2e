package backend

import (
	"context"
	"errors"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// script is a Lua script as the store runs it.
//
// A script that writes is sent to Redis at most once per call. go-redis
// resends a command whose answer did not come (a read timeout, a connection
// that broke after the command was written): right for a read, wrong for a
// write that Redis may already have run. A creation resent would find its own
// user and answer 409 "id is already taken", a deletion resent would answer
// 404, although both were made. So a write's command tells go-redis not to
// resend it ([noResend]), and a write whose answer was lost fails with
// [errOutcomeUnknown], which says so, instead of guessing.
//
// What go-redis still does for a write, because the script did not run:
// dial again before the command is written, follow a Cluster's MOVED and ASK,
// and EVAL the source after a NOSCRIPT answer to EVALSHA; what [script.Run]
// does: load the function library and FCALL again after a "Function not
// found" answer (library.go).
//
// A script that changes data a client is told of is also waited for by
// [Store.WaitForReplica]; the abuse limits' counts are not (see there).
type script struct {
	*redis.Script
	src string
	// idempotent: a second run changes nothing more and answers as the
	// first (a read, setting a value to what it is): go-redis may resend it.
	idempotent bool
	// durable: WaitForReplica waits for it.
	durable bool
	// function is its function's name in the store's library, "" when it
	// has none: looked up once here, not by its source (a long string to
	// hash) at every call.
	function string
}

// withFunction sets sc's function, the name of its source's function in the
// store's library.
func withFunction(sc *script) *script {
	sc.function = storeLibrary.functions[sc.src]
	return sc
}

// newScript returns a script that changes data: run at most once per call,
// and waited for by WaitForReplica.
func newScript(src string) *script {
	return withFunction(&script{Script: redis.NewScript(src), src: src, durable: true})
}

// newIdempotentScript returns a script that go-redis may resend, as it does
// reads: one that only reads, or whose second run changes nothing more and
// answers as the first did, and whose change may be lost (a token's last
// use): WaitForReplica does not wait for it.
func newIdempotentScript(src string) *script {
	return withFunction(&script{Script: redis.NewScript(src), src: src, idempotent: true})
}

// newIdempotentWriteScript returns a script that go-redis may resend (its
// second run changes nothing more) and that WaitForReplica waits for: a
// change that must survive a failover, such as ending a session.
func newIdempotentWriteScript(src string) *script {
	return withFunction(&script{Script: redis.NewScript(src), src: src, idempotent: true, durable: true})
}

// newCountScript returns a script that changes a count of the abuse limits:
// run at most once per call, as newScript's, but not waited for by
// WaitForReplica (see there).
func newCountScript(src string) *script {
	return withFunction(&script{Script: redis.NewScript(src), src: src})
}

// Run runs the script on s's Redis: as its function in the store's library
// (FCALL) where Redis has functions (see library.go), else with EVALSHA,
// then with EVAL if Redis answers NOSCRIPT (it does not have the script
// cached, and ran nothing). An FCALL answered "Function not found" (or
// refused: an unknown command, NOPERM) ran nothing either: Run loads the
// library on that node and sends the FCALL once more, and runs the script
// with EVALSHA if the function is still not there.
func (sc *script) Run(ctx context.Context, s *Store, keys []string, args ...any) *redis.Cmd {
	// Scripts share pipelines with other requests' (reads.go).
	c := s.writes
	if sc.idempotent && !sc.durable {
		c = s.reads
	}
	if name := sc.function; name != "" && s.functions {
		cmd := sc.send(ctx, c, "fcall", name, keys, args)
		if !functionMissing(cmd.Err()) {
			return cmd
		}
		if s.loadLibraryFor(ctx, keys) == nil {
			if cmd = sc.send(ctx, c, "fcall", name, keys, args); !functionMissing(cmd.Err()) {
				return cmd
			}
		}
	}
	if sc.idempotent && !sc.durable {
		return sc.Script.Run(ctx, c, keys, args...)
	}
	cmd := sc.send(ctx, c, "evalsha", sc.Hash(), keys, args)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		cmd = sc.send(ctx, c, "eval", sc.src, keys, args)
	}
	return cmd
}

// send sends EVAL, EVALSHA or FCALL: a script that is not idempotent without
// go-redis resending it, with a failure after which Redis may have run it
// marked as [outcomeUnknownError]; a durable one as a [durable] write.
func (sc *script) send(ctx context.Context, c commander, name, payload string, keys []string, args []any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, name, payload, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	cmd := redis.NewCmd(ctx, a...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3) // the slot on Cluster: every key shares the organization's hash tag
	}
	var sent redis.Cmder = cmd
	if !sc.idempotent {
		sent = noResend{cmd}
	}
	if sc.durable && len(keys) > 0 {
		sent = durable{Cmder: sent, key: keys[0]}
	}
	_ = c.Process(ctx, sent)
	if err := cmd.Err(); !sc.idempotent && mayHaveRun(err) {
		cmd.SetErr(outcomeUnknownError{err})
	}
	return cmd
}

// noResend is a command that go-redis must not send a second time once it
// may have reached Redis (go-redis's [redis.Cmder] NoRetry): it still retries
// what failed before the command was written, such as a stale pooled
// connection.
type noResend struct{ *redis.Cmd }

// NoRetry implements [redis.Cmder].
func (noResend) NoRetry() bool { return true }

// mayHaveRun reports whether err, the failure of a command, leaves open
// whether Redis ran it: the connection timed out or broke after the command
// may have been written. An error answer (BUSY, OOM, READONLY, LOADING, ...),
// a refused or failed dial, or no free connection in the pool mean that
// Redis did not run it.
func mayHaveRun(err error) bool {
	if err == nil || !errors.As(err, new(unavailableError)) {
		return false
	}
	var reply redis.Error
	var op *net.OpError
	switch {
	case errors.As(err, &reply),
		errors.As(err, &op) && op.Op == "dial",
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, redis.ErrClosed):
		return false
	}
	return true
}

// errOutcomeUnknown is what a client is told when a write was sent to Redis
// and its answer was lost: Redis may have made the change or not. It is a
// 503, so identity providers retry; a retry is safe (see the README's
// Reliability section): a creation that was made answers 409, a deletion
// 404, a replacement makes the same document, a PATCH with If-Match answers
// 412.
var errOutcomeUnknown = resources.Errorf(resources.Unavailable,
	"the store did not answer in time, so whether the change was made is unknown; "+
		"read the resource to see, or retry later (a creation that was made then answers 409, a deletion 404)")

// outcomeUnknownError is the error of a write whose answer was lost. It
// keeps go-redis's error as its cause, for logs, is [errOutcomeUnknown] to
// errors.As and [resources.ErrOutcomeUnknown] to errors.Is.
type outcomeUnknownError struct{ cause error }

func (e outcomeUnknownError) Error() string { return "redis write outcome unknown: " + e.cause.Error() }
func (e outcomeUnknownError) Unwrap() error { return e.cause }

// Is makes e [resources.ErrOutcomeUnknown].
func (e outcomeUnknownError) Is(target error) bool { return target == resources.ErrOutcomeUnknown }

// As makes e a [resources.Error] of code Unavailable that says the outcome
// is unknown.
func (e outcomeUnknownError) As(target any) bool {
	if t, ok := target.(*resources.Error); ok {
		*t = errOutcomeUnknown
		return true
	}
	return false
}
