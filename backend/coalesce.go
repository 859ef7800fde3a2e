package backend

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Commands that concurrent requests send share pipelines.
//
// A request that reads one resource (GET /Users/{id}, a userName eq
// filter) costs Redis two small commands or one read-only script, and a
// creation one write script; much of what each costs, on both sides, is
// the round trip itself: a write and a read system call on scimd's side,
// and on Redis's side the same again plus waking up for the connection.
// Measured with wrk on two cores (10k customers), Redis spent 25-33 µs of
// CPU per GET /Users/{id} and scimd 89-122 µs, against 4.5-5.6 µs and
// 72-85 µs when concurrent requests' commands share pipelines.
//
// So the store sends its scripts and the reads of one resource through
// go-redis's blocking autopipeliner (Client.AutoPipeline, go-redis 9.22 and
// later): each call still blocks until its own answer is in, but the
// commands that all requests issue while a pipeline is on its way go out
// together as the next one, on one connection. A lone request is sent at
// once, as it would be without it.
//
// What goes through it: the reads of a single resource ([Store.fetch] of
// one id, [Store.reads]) and every script ([script.Run], [Store.writes]).
// A write script is still sent at most once: its command says so
// ([noResend]), and the autopipeliner never resends a command that says
// so, nor a batch holding one. What does not:
//   - writes while [Store.WaitForReplica] is on: a write's WAIT must follow
//     it on its own connection;
//   - the store's other commands: transactions (MULTI, WATCH), the
//     pipelines of many resources (a list page is one pipeline already),
//     single durable writes ([Store.write]), the readiness probe (it has
//     its own clients, ready.go).
//
// Two things differ from a command on the client:
//   - A command in a pipeline does not stop when its request's context
//     ends: it ends when Redis answers, within the client's read timeout
//     (5 s unless the URL sets read_timeout), as a command already written
//     does. These are single commands and scripts bounded by the store's
//     limits, never a walk of an organization.
//   - A batch of reads that fails on a network error is sent again whole,
//     as go-redis resends any read.
//
// Errors are the client's: its hooks ([unavailableHook] and, on a Cluster,
// [clusterReloadHook]) run around each pipeline, and a write whose answer
// was lost is [errOutcomeUnknown] as on the client.

// commander runs commands: a client, or its autopipeliner.
type commander interface {
	redis.Cmdable
	Process(ctx context.Context, cmd redis.Cmder) error
}

// sharer returns client's blocking autopipeliner, or client itself where
// go-redis has none for it.
func sharer(client redis.UniversalClient) commander {
	ap, err := client.AutoPipeline()
	if err != nil {
		return client
	}
	return ap
}
