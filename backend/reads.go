package backend

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Reads that concurrent requests make share pipelines.
//
// A request that reads one resource (GET /Users/{id}, a userName eq
// filter) costs Redis two small commands or one read-only script, and most
// of what it costs, on both sides, is the round trip itself: a write and a
// read system call on scimd's side, and on Redis's side the same again
// plus waking up for the connection. Measured with wrk on two cores (10k
// customers), Redis spent 25-33 µs of CPU per GET /Users/{id} and scimd
// 89-122 µs, against 4.5-5.6 µs and 72-85 µs when concurrent reads share
// pipelines.
//
// So the store sends those reads through go-redis's blocking autopipeliner
// (Client.AutoPipeline, go-redis 9.22 and later): each call still blocks
// until its own answer is in, but the commands issued by all requests
// while a pipeline is on its way go out together as the next one, on one
// connection. A lone request is sent at once, as it would be without it.
//
// What goes through it ([Store.reads]): the reads of a single resource
// ([Store.fetch] of one id) and the scripts that only read
// ([newIdempotentScript] that are not durable: [script.Run]). What does
// not:
//   - writes: each is sent at most once ([noResend]) and, with
//     [Store.WaitForReplica], with its WAIT on its own connection; they
//     stay on the client;
//   - transactions (MULTI, WATCH) and pipelines of many resources (a list
//     page is one pipeline already);
//   - the readiness probe, which has its own clients (ready.go).
//
// Two things differ from a read on the client:
//   - A read in a pipeline does not stop when its request's context ends:
//     it ends when Redis answers, within the client's read timeout (5 s
//     unless the URL sets read_timeout), as a command already written
//     does. These reads are single commands or scripts bounded by the
//     store's limits, never a walk of an organization.
//   - A batch that fails on a network error is sent again whole, as go-redis
//     resends any read: right for reads, and why writes stay out.
//
// Errors are the client's: its hooks ([unavailableHook] and, on a Cluster,
// [clusterReloadHook]) run around each pipeline.

// commander runs commands: a client, or its autopipeliner.
type commander interface {
	redis.Cmdable
	Process(ctx context.Context, cmd redis.Cmder) error
}

// reader returns client's blocking autopipeliner, or client itself where
// go-redis has none for it.
func reader(client redis.UniversalClient) commander {
	ap, err := client.AutoPipeline()
	if err != nil {
		return client
	}
	return ap
}
