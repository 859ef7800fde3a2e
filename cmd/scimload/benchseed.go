package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
)

// benchOrg is the organization scimd's SCIM_BOOTSTRAP_TOKEN opens.
const benchOrg = "default"

// benchBatch is how many users one pipeline creates.
const benchBatch = 500

// benchUserName is the userName of the i-th seeded user. They all start with
// "w", so that the table's "userName sw \"w\"" matches every seeded user,
// and none of the users POSTed later.
func benchUserName(i int) string { return fmt.Sprintf("w%07d@example.com", i) }

// benchUserBody is the i-th seeded user's POST body: the body scimload's
// other runs create (see userBody), so that figures compare.
func benchUserBody(i int) map[string]any {
	var raw map[string]any
	_ = json.Unmarshal(userBody(benchUserName(i), fmt.Sprintf("load-%d", i), fmt.Sprintf("User%07d", i)), &raw)
	return raw
}

// creation is one user as [resources.Users.Create] hands it to its store.
type creation struct {
	u resources.Resource
	w resources.UserWrite
}

// collectingStore is a [resources.UserStore] whose CreateUser keeps the user
// for a batch instead of writing it: the seeder runs every rule of a POST
// /Users (validation, defaults, the document as stored) through
// resources.Users, then writes a batch with [backend.Store.CreateUsers], the
// same script CreateUser runs, in one pipeline.
//
// It is the store's resources.ExtensionStore too, so that the users are
// made under the organization's User type (its custom attributes and
// substringSearch) and their writes carry its generation.
type collectingStore struct {
	resources.UserStore
	resources.ExtensionStore
	batch []creation
}

// CreateUser implements [resources.UserStore] by keeping u for the batch.
func (c *collectingStore) CreateUser(_ context.Context, _ string, u resources.Resource, w resources.UserWrite) (resources.Resource, error) {
	c.batch = append(c.batch, creation{u: u, w: w})
	return u, nil
}

// seedResult is what seeding made.
type seedResult struct {
	ids     []string // ids[i] is the i-th user's
	elapsed time.Duration
}

// seedBenchUsers creates users 0..n-1 of [benchUserName] in org with
// workers concurrent pipelines of batch users.
func seedBenchUsers(ctx context.Context, store *backend.Store, org string, n, batch, workers int, progress io.Writer) (seedResult, error) {
	ids := make([]string, n)
	start := time.Now()
	batches := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			// A worker that failed goes on draining the batches (without
			// seeding them): the feeder never waits for a receiver.
			for from := range batches {
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					continue
				}
				if err := seedBatch(ctx, store, org, from, min(from+batch, n), ids); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				before := done
				done += min(batch, n-from)
				if done/100000 != before/100000 {
					fmt.Fprintf(progress, "seeded %d of %d users (%s)\n", done, n, time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for from := 0; from < n; from += batch {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case batches <- from:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if err := errors.Join(firstErr, ctx.Err()); err != nil {
		return seedResult{}, fmt.Errorf("seed users: %w", err)
	}
	return seedResult{ids: ids, elapsed: time.Since(start)}, nil
}

// seedBatch creates users from..to-1 and records their ids.
func seedBatch(ctx context.Context, store *backend.Store, org string, from, to int, ids []string) error {
	collect := &collectingStore{UserStore: store, ExtensionStore: store}
	users := resources.NewUsers(collect)
	for i := from; i < to; i++ {
		if _, err := users.Create(ctx, org, benchUserBody(i)); err != nil {
			return fmt.Errorf("user %d: %w", i, err)
		}
	}
	us := make([]resources.Resource, len(collect.batch))
	ws := make([]resources.UserWrite, len(collect.batch))
	for i, c := range collect.batch {
		us[i], ws[i] = c.u, c.w
	}
	created, errs, err := store.CreateUsers(ctx, org, us, ws)
	if err != nil {
		return err
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("user %d: %w", from+i, err)
		}
		ids[from+i] = created[i].ID
	}
	return nil
}

// benchGroupName is the displayName of the group whose members the table's
// membership rows read.
const benchGroupName = "bench-group"

// seedBenchGroup creates the bench group with members ids, added as an
// identity provider adds them (PATCH "add" to members), 1000 per write.
func seedBenchGroup(ctx context.Context, store *backend.Store, org string, ids []string) (string, error) {
	groups := resources.NewGroups(store)
	g, err := groups.Create(ctx, org, map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": benchGroupName,
	})
	if err != nil {
		return "", fmt.Errorf("create group %s: %w", benchGroupName, err)
	}
	const perWrite = 1000
	for from := 0; from < len(ids); from += perWrite {
		var members []any
		for _, id := range ids[from:min(from+perWrite, len(ids))] {
			members = append(members, map[string]any{"value": id})
		}
		op := resources.PatchOp{Op: "add", Path: "members", Value: members, HasValue: true}
		if _, err := groups.Patch(ctx, org, g.ID, []resources.PatchOp{op}, 0); err != nil {
			return "", fmt.Errorf("add members %d to %d: %w", from, from+len(members), err)
		}
	}
	return g.ID, nil
}
