package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// WaitForReplica makes every write wait, before the store answers it, until
// a replica has acknowledged it (Redis WAIT 1), for at most timeout; zero
// leaves writes unwaited, the default. Call it once, before use. timeout
// must be shorter than the client's read timeout (read_timeout in the URL,
// 5 s by default), which would otherwise end the wait first.
//
// Redis replicates asynchronously: a primary that fails may take its last
// writes with it, although it answered them, and the replica promoted in its
// place never had them. With WaitForReplica, a write scimd acknowledges is on
// at least one replica too, which Sentinel and Cluster promote before a
// replica that lacks it (they prefer the replica with the most
// replication). A write that no replica acknowledged in time was made on the
// primary, but may be lost: it fails as [errOutcomeUnknown] (503), as a write
// whose answer was lost does, and a client's retry then says what happened.
//
// What waits: every write of data a client or an administrator is told of
// ([durable] commands): every write script (users, groups, memberships,
// tokens, settings, invitations and tickets, administrators, their links and
// sessions, the change log), an organization's creation, the records of
// legacy tokens in the global hash (creating, rotating and revoking them: a
// revocation must not come back with a failover), customer sessions and
// their ending, password-change tickets. What does not: the abuse limits'
// counts (a token's bucket and leases, failed authentications, public-page
// submissions: a failover that loses some lets a few more requests through,
// once, and waiting would put a replica's round trip on every request), a
// token's last use and a console session's idle time (times, not data; the
// next use records them again), and [Store.CreateUsers]' batches (seeding
// for benchmarks, not an acknowledgment to a client).
//
// The WAIT goes on the write's own connection, in one round trip with it (a
// pipeline to the primary of the organization's slot): WAIT counts the
// replicas that have every write of its connection. On a Cluster, a write
// answered MOVED or ASK (a failover or a resharding moved its slot: the
// write did not run) is sent again, with its WAIT, to the node named. On the
// embedded store, which has no replicas, WaitForReplica does nothing.
func (s *Store) WaitForReplica(timeout time.Duration) error {
	if timeout <= 0 || s.mini != nil {
		return nil
	}
	read := s.readTimeout()
	if read > 0 && timeout >= read {
		return fmt.Errorf("a wait for a replica of %s needs a longer Redis read timeout than %s: set read_timeout in the URL", timeout, read)
	}
	s.client.AddHook(replicaWaitHook{client: s.client, timeout: timeout})
	// A write and its WAIT go on one connection of the client's own: not
	// in a pipeline shared with other requests (reads.go), whose hooks
	// would not add the WAIT.
	s.writes = s.client
	return nil
}

// readTimeout is the client's read timeout (negative: none).
func (s *Store) readTimeout() time.Duration {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.Options().ReadTimeout
	case *redis.Client:
		return c.Options().ReadTimeout
	}
	return 0
}

// durable is a write that [Store.WaitForReplica] waits for. key is its first
// key, which names its slot on a Cluster (every key of a write shares the
// organization's hash tag, or the write has one key).
type durable struct {
	redis.Cmder
	key string
}

// write sends cmd, a command that changes data (its first argument after
// the command's name is its key), as a [durable] write.
func (s *Store) write(ctx context.Context, cmd redis.Cmder) error {
	key, _ := cmd.Args()[1].(string)
	_ = s.client.Process(ctx, durable{Cmder: cmd, key: key})
	return cmd.Err()
}

// hset sets field of the hash at key to value, as a durable write.
func (s *Store) hset(ctx context.Context, key, field string, value any) error {
	return s.write(ctx, redis.NewIntCmd(ctx, "hset", key, field, value))
}

// hdel deletes fields of the hash at key, as a durable write.
func (s *Store) hdel(ctx context.Context, key string, fields ...string) error {
	args := make([]any, 0, 2+len(fields))
	args = append(args, "hdel", key)
	for _, f := range fields {
		args = append(args, f)
	}
	return s.write(ctx, redis.NewIntCmd(ctx, args...))
}

// setPX sets key to value until ttl passes, as a durable write.
func (s *Store) setPX(ctx context.Context, key, value string, ttl time.Duration) error {
	return s.write(ctx, redis.NewStatusCmd(ctx, "set", key, value, "px", max(ttl.Milliseconds(), 1)))
}

// del deletes key, as a durable write.
func (s *Store) del(ctx context.Context, key string) error {
	return s.write(ctx, redis.NewIntCmd(ctx, "del", key))
}

// replicaWaitHook sends each [durable] write with a WAIT 1 after it on the
// same connection, and fails the write unless a replica acknowledged it.
type replicaWaitHook struct {
	client  redis.UniversalClient
	timeout time.Duration
}

func (h replicaWaitHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h replicaWaitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h replicaWaitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		write, ok := cmd.(durable)
		if !ok || write.key == "" {
			return next(ctx, cmd)
		}
		return h.process(ctx, write)
	}
}

// maxWaitRedirects is how many MOVED or ASK answers a write with its WAIT
// follows, as go-redis's own MaxRedirects does for other commands.
const maxWaitRedirects = 3

// process sends write and WAIT in one pipeline to the primary that holds
// write's key, following MOVED and ASK on a Cluster.
func (h replicaWaitHook) process(ctx context.Context, write durable) error {
	cc, cluster := h.client.(*redis.ClusterClient)
	if !cluster {
		wait := sendWithWait(ctx, h.client, write, false, h.timeout)
		return h.settle(write, wait)
	}
	// A pipeline on the Cluster client itself would send the keyless WAIT
	// to any node: the write and its WAIT go to the node client.
	node, err := cc.MasterForKey(ctx, write.key)
	if err != nil {
		err = unavailableError{err}
		write.SetErr(err)
		return err
	}
	var wait *redis.IntCmd
	asking := false
	for redirects := 0; ; redirects++ {
		wait = sendWithWait(ctx, node, write, asking, h.timeout)
		addr, ask, ok := redirected(write.Err())
		if !ok || redirects == maxWaitRedirects {
			break
		}
		// The write did not run: its slot is served by addr now (MOVED: a
		// failover or a resharding finished; ASK: a slot migration under
		// way). Send it there, with its WAIT.
		next, err := nodeAt(ctx, cc, addr)
		if err != nil {
			break
		}
		node, asking = next, ask
	}
	if err := write.Err(); err != nil {
		// The node client has none of the Cluster client's hooks: a node
		// that moved or cannot be reached makes the layout reload, and its
		// error is the store's (a MOVED past the redirects: unavailable,
		// since the write did not run).
		if unavailable(err) || layoutMayHaveChanged(err) {
			cc.ReloadState(context.Background())
		}
		if unavailable(err) {
			write.SetErr(unavailableError{err})
		}
	}
	return h.settle(write, wait)
}

// sendWithWait sends write, and WAIT 1 after it, in one pipeline on c (a
// node's client on a Cluster); asking sends ASKING first (the answer to
// ASK). It returns the WAIT's command; write holds its own answer.
func sendWithWait(ctx context.Context, c interface{ Pipeline() redis.Pipeliner }, write durable, asking bool, timeout time.Duration) *redis.IntCmd {
	write.SetErr(nil)
	pipe := c.Pipeline()
	if asking {
		_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "asking"))
	}
	// Never resent, even a write that could be: the pipeline would be resent
	// whole after its read timed out, WAIT and all, and the client would
	// learn nothing more.
	_ = pipe.Process(ctx, sentOnce{write})
	wait := redis.NewIntCmd(ctx, "wait", 1, timeout.Milliseconds())
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx)
	return wait
}

// sentOnce is a command go-redis does not resend (see [noResend]).
type sentOnce struct{ redis.Cmder }

// NoRetry implements [redis.Cmder].
func (sentOnce) NoRetry() bool { return true }

// settle fails write unless its WAIT says a replica has it.
func (h replicaWaitHook) settle(write durable, wait *redis.IntCmd) error {
	if err := write.Err(); err != nil {
		if mayHaveRun(err) {
			// Its answer was lost: it may have run, and a replica may
			// have it or not.
			err = outcomeUnknownError{err}
			write.SetErr(err)
		}
		return err
	}
	n, werr := wait.Result()
	var err error
	switch {
	case werr != nil:
		// The write ran; whether a replica has it is unknown.
		err = outcomeUnknownError{errors.New("the write's WAIT failed: " + werr.Error())}
	case n < 1:
		err = outcomeUnknownError{fmt.Errorf("no replica acknowledged the write within %s (WAIT 1 %d)", h.timeout, h.timeout.Milliseconds())}
	}
	if err != nil {
		write.SetErr(err)
	}
	return err
}

// redirected reports whether err is a Cluster's MOVED or ASK answer, and the
// address it names ("MOVED 3999 127.0.0.1:6381").
func redirected(err error) (addr string, ask, ok bool) {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return "", false, false
	}
	f := strings.Fields(reply.Error())
	if len(f) != 3 || f[0] != "MOVED" && f[0] != "ASK" {
		return "", false, false
	}
	return f[2], f[0] == "ASK", true
}

// nodeAt returns the Cluster client's client of the node at addr, once it
// has reloaded the layout (ForEachShard reloads it before it calls back).
func nodeAt(ctx context.Context, cc *redis.ClusterClient, addr string) (*redis.Client, error) {
	var (
		mu    sync.Mutex
		found *redis.Client
	)
	err := cc.ForEachShard(ctx, func(_ context.Context, c *redis.Client) error {
		if c.Options().Addr == addr {
			mu.Lock()
			found = c
			mu.Unlock()
		}
		return nil
	})
	if err == nil && found == nil {
		err = fmt.Errorf("no node at %s in the cluster's layout", addr)
	}
	return found, err
}
