package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// WaitForReplica makes every write wait, before the store answers it, until
// a replica has acknowledged it (Redis WAIT 1), for at most timeout; zero
// leaves writes unwaited, the default. Call it once, before use.
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
// The WAIT goes on the write's own connection, in one round trip with it (a
// pipeline to the primary of the organization's slot): WAIT counts the
// replicas that have every write of its connection. On the embedded store,
// which has no replicas, WaitForReplica does nothing.
func (s *Store) WaitForReplica(timeout time.Duration) {
	if timeout <= 0 || s.mini != nil {
		return
	}
	s.client.AddHook(replicaWaitHook{client: s.client, timeout: timeout})
}

// replicaWaitHook sends each write script (a [noResend] command: see
// script.go) with a WAIT 1 after it on the same connection, and fails the
// write unless a replica acknowledged it.
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
		write, ok := cmd.(noResend)
		if !ok || len(write.Args()) < 4 {
			return next(ctx, cmd)
		}
		return h.process(ctx, write)
	}
}

// process sends write and WAIT in one pipeline to the primary that holds
// write's keys.
func (h replicaWaitHook) process(ctx context.Context, write noResend) error {
	var node interface{ Pipeline() redis.Pipeliner } = h.client
	cc, cluster := h.client.(*redis.ClusterClient)
	if cluster {
		// Every key of a write shares the organization's hash tag: the first
		// one names the slot. A pipeline on the Cluster client itself would
		// send the keyless WAIT to any node.
		key, _ := write.Args()[3].(string)
		c, err := cc.MasterForKey(ctx, key)
		if err != nil {
			write.SetErr(err)
			return err
		}
		node = c
	}
	pipe := node.Pipeline()
	_ = pipe.Process(ctx, write)
	wait := pipe.Do(ctx, "wait", 1, h.timeout.Milliseconds())
	_, _ = pipe.Exec(ctx)
	err := write.Err()
	if cluster && err != nil {
		// The node client has none of the Cluster client's hooks: a node
		// that moved or cannot be reached makes the layout reload, and its
		// error is the store's.
		if unavailable(err) || layoutMayHaveChanged(err) {
			cc.ReloadState(context.Background())
		}
		if unavailable(err) {
			err = unavailableError{err}
			write.SetErr(err)
		}
	}
	if err != nil {
		return err
	}
	n, werr := wait.Int64()
	switch {
	case werr != nil:
		// The script ran; whether a replica has it is unknown.
		err = outcomeUnknownError{errors.New("the write's WAIT failed: " + werr.Error())}
	case n < 1:
		err = outcomeUnknownError{fmt.Errorf("no replica acknowledged the write within %s (WAIT 1 %d)", h.timeout, h.timeout.Milliseconds())}
	}
	if err != nil {
		write.SetErr(err)
	}
	return err
}
