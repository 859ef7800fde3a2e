package backend

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Commands that concurrent requests send share pipelines.
//
// A request that reads one resource (GET /Users/{id}, a userName eq
// filter) costs Redis one read-only script (a group: two small commands), and a
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
// together as a next one (how reads are batched: see readBatchSize). A
// lone request is sent at once, as it would be without it.
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
// Writes stream; reads go in batches. On a single server or Sentinel,
// write scripts go through a second autopipeliner in go-redis's
// full-duplex mode ([writeSharer]): one connection on which a writer sends
// each script as it comes while a reader takes the answers in order, so
// Redis starts a script without waiting for the batch before it.
// go-redis's batching by default holds each batch until as many commands
// as the last batch answered have come in (it expects callers that send
// again at once), but
// a request that got its answer sends nothing more until its next HTTP
// request has been read and checked: with scripts of 100 µs and more, Redis
// sat idle between batches and 20% of the two cores were idle under POST
// load. Measured with wrk -t2 -c50, 10k customers, alternating binaries:
// POST /Users 3,574-4,219 req/s batched, 4,232-6,401 streamed (+18 to
// +52% in each pair). Reads stay batched: streamed, each went to Redis
// nearly alone, and Redis's CPU per GET /Users/{id} rose from 6 to 35 µs
// (GET -15 to -34%, userName eq -10 to -21%). go-redis keeps one
// autopipeliner of each face per client, so the streaming one belongs to a
// clone of the client that shares its connection pools
// (Client.WithTimeout, with the client's read timeout).
// The clone has none of the client's hooks: [unavailableCommander] maps
// its errors as [unavailableHook] does, without a hook (a hook would run
// on a goroutine of its own for every command).
// A Cluster's writes share the reads' autopipeliner.
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

// On a single server or Sentinel, reads overlap in up to three batches of
// about 16 commands (a soft bound: a batch takes what waits). go-redis's
// blocking default sends one batch at a time and holds the next until
// every caller the last one answered has sent again, or a silence of
// 200 µs or more (made for slow links). A request that got its answer
// sends again only after its response is written and its next request
// read and checked, so on loopback scimd and Redis took turns: Redis idle
// while the wave came back, scimd idle while Redis ran it, 13-17% of the
// two cores idle under GET load. Letting a batch go once 16 commands
// wait, while up to two others are in Redis, keeps both sides busy.
// Measured at a million customers, wrk -t2 -c50, each run against the
// ceiling (README, Benchmarks) on either side of it, 5 alternating
// rounds: GET /Users/{id} 0.79-0.87 of the ceiling (median 0.86) before,
// 0.81-0.98 (0.93) after; userName eq 0.65-0.76 (0.73) before, 0.75-0.84
// (0.79) after; the share of idle CPU 13-17% before, 7-10% after; at 10
// and 200 connections, the same within the noise. Batches may now run in
// any order against each other (Unordered): each call blocks until its
// own answer is in, so one request's commands still run in the order it
// sends them, and a command sent after another's answer runs after it.
// Only a batch sent again after a network error may now run after a later
// batch: reads, and writes that may be repeated (a token's last use, a
// session's expiry), none of which depends on another request's order.
const (
	readBatchSize       = 16
	readBatchesInFlight = 3
)

// sharer returns client's blocking autopipeliner (on a single server or
// Sentinel, with the batching above), or client itself where go-redis has
// none for it.
func sharer(client redis.UniversalClient) commander {
	var ap *redis.AutoPipeliner
	var err error
	if c, ok := client.(*redis.Client); ok {
		opts := redis.DefaultBlockingAutoPipelineOptions()
		opts.MaxBatchSize = readBatchSize
		opts.MaxConcurrentBatches = readBatchesInFlight
		opts.Unordered = true
		ap, err = c.AutoPipelineWithOptions(opts)
	} else {
		ap, err = client.AutoPipeline()
	}
	if err != nil {
		return client
	}
	return ap
}

// writeSharer returns what write scripts go through: on a single server or
// Sentinel (a [redis.Client]), a streaming (full-duplex) autopipeliner of a
// clone of client that shares its pools, with a func that closes it;
// otherwise [sharer]'s, which the client closes.
func writeSharer(client redis.UniversalClient) (commander, func() error) {
	none := func() error { return nil }
	c, ok := client.(*redis.Client)
	if !ok {
		return sharer(client), none
	}
	opts := redis.DefaultBlockingAutoPipelineOptions()
	opts.FullDuplex = true
	ap, err := c.WithTimeout(c.Options().ReadTimeout).AutoPipelineWithOptions(opts)
	if err != nil {
		return sharer(client), none
	}
	return unavailableCommander{ap}, ap.Close
}

// unavailableCommander is an autopipeliner whose commands' errors are
// mapped as [unavailableHook] maps the client's: for one that runs none of
// the client's hooks.
type unavailableCommander struct{ *redis.AutoPipeliner }

// Process implements [commander].
func (u unavailableCommander) Process(ctx context.Context, cmd redis.Cmder) error {
	return markUnavailable(u.AutoPipeliner.Process(ctx, cmd), cmd)
}
