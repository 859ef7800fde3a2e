package resources

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// maxWriteAttempts bounds the read-apply-write retries of a write that lost a
// race with another writer and carries no If-Match.
const maxWriteAttempts = 8

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
// contending writers spread out) and runs again, at most maxWriteAttempts
// times in all; then the answer is busy. Every conditional write of the
// domain goes through it, so that all retry alike.
func retryWrites(ctx context.Context, busy Error, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if !errors.Is(err, errRetry) {
			return err
		}
		if n+1 >= maxWriteAttempts {
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
