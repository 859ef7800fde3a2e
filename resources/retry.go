package resources

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// A write that lost a race with another writer, and carries no If-Match, is
// read, applied and written again for up to maxWriteRetryTime, and at most
// maxWriteAttempts times: a time budget rather than a count alone, because
// under load each attempt takes longer and its window to lose grows with it
// (16 concurrent PATCHes of one user on a loaded machine exhausted 8
// attempts; they are all applicable, so all should apply).
const (
	maxWriteAttempts  = 64
	maxWriteRetryTime = 3 * time.Second
)

// errRetry is what an attempt of [retryWrites] returns when its write lost a
// race: the stored resource changed between its read and its write.
var errRetry = errors.New("lost a write race: read again and retry")

// lostRace is the error of an attempt whose write failed with err: errRetry
// when the store reported a version conflict, else err.
func lostRace(err error) error {
	if errors.Is(err, ErrVersionConflict) {
		return errRetry
	}
	return err
}

// retryWrites runs attempt, a read-apply-write, until it returns anything
// but errRetry: after a lost race it waits a random, growing time (so that
// contending writers spread out) and runs again, within maxWriteAttempts and
// maxWriteRetryTime; then the answer is busy. Every conditional write of the
// domain goes through it, so that all retry alike.
func retryWrites(ctx context.Context, busy Error, attempt func() error) error {
	start := time.Now()
	for n := 0; ; n++ {
		err := attempt()
		if !errors.Is(err, errRetry) {
			return err
		}
		if n+1 >= maxWriteAttempts || time.Since(start) >= maxWriteRetryTime {
			return busy
		}
		if err := backoff(ctx, n); err != nil {
			return err
		}
	}
}

// busyUser is the answer when user id kept changing under a write.
func busyUser(id string) Error {
	return Errorf(Conflict, "user %q is being changed by other requests at the same time; retry", id)
}

// backoff waits a random, growing time before retrying a write that lost a
// race, so that contending writers spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
