package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadGroupName is the displayName of the group member-add adds to.
const loadGroupName = "load-group"

// listPageSize is the count asked for when listing the seeded users.
const listPageSize = 1000

// userPool is the seeded users the operations draw from; ids[i] has
// userName names[i].
type userPool struct {
	ids   []string
	names []string
}

func (p userPool) size() int { return len(p.ids) }

// seedName is the userName of the i-th seeded user.
func seedName(i int) string { return fmt.Sprintf("load%06d@example.com", i) }

// userBody is a POST /Users body like a provisioning client sends.
func userBody(userName, externalID, familyName string) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":   userName,
		"externalId": externalID,
		"name":       map[string]string{"givenName": "Load", "familyName": familyName},
	})
	return b
}

// prepareUsers seeds cfg.users users unless told not to and returns the ones
// to draw from. Users that already exist are found by listing.
func prepareUsers(ctx context.Context, c scimClient, cfg config, progress io.Writer) (userPool, error) {
	if !cfg.skipSeed {
		pool, existing, err := seedUsers(ctx, c, cfg.users, cfg.seedConcurrency, progress)
		if err != nil {
			return userPool{}, err
		}
		if existing == 0 {
			return pool, nil
		}
	}
	pool, err := listSeeded(ctx, c, cfg.users)
	if err != nil {
		return userPool{}, err
	}
	fmt.Fprintf(progress, "found %d of the %d seeded users by listing\n", pool.size(), cfg.users)
	if pool.size() == 0 {
		return userPool{}, errors.New("no seeded users found: run once without -skip-seed")
	}
	return pool, nil
}

// seedUsers creates n users with workers concurrent requests. A 409 means
// the user exists from an earlier run and is counted as existing; other
// failures are reported and the users left out of the pool.
func seedUsers(ctx context.Context, c scimClient, n, workers int, progress io.Writer) (pool userPool, existing int, err error) {
	ids := make([]string, n)
	errs := make([]error, n)
	var exists atomic.Int64
	next := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				ids[i], errs[i] = createSeedUser(ctx, c, i)
				if ids[i] == "" && errs[i] == nil {
					exists.Add(1)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return userPool{}, 0, err
	}
	elapsed := time.Since(start)

	var failed int
	var firstErr error
	for i, id := range ids {
		switch {
		case errs[i] != nil:
			failed++
			if firstErr == nil {
				firstErr = errs[i]
			}
		case id != "":
			pool.ids = append(pool.ids, id)
			pool.names = append(pool.names, seedName(i))
		}
	}
	fmt.Fprintf(progress, "seeded %d users in %s: %.0f users/s (created %d, existing %d, failed %d)\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), pool.size(), exists.Load(), failed)
	if failed > 0 {
		fmt.Fprintf(progress, "first seeding error: %v\n", firstErr)
	}
	if pool.size() == 0 && exists.Load() == 0 {
		return userPool{}, 0, fmt.Errorf("seeding created no users: %w", firstErr)
	}
	return pool, int(exists.Load()), nil
}

// createSeedUser creates the i-th seeded user and returns its id, or "" if it
// already exists.
func createSeedUser(ctx context.Context, c scimClient, i int) (string, error) {
	body := userBody(seedName(i), "load-"+strconv.Itoa(i), fmt.Sprintf("User%06d", i))
	resp, err := c.expect(ctx, http.MethodPost, "/Users", body, http.StatusCreated, http.StatusConflict)
	if err != nil || resp.status == http.StatusConflict {
		return "", err
	}
	return decodeID(resp)
}

// decodeID reads the id of a created resource.
func decodeID(resp response) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.body, &r); err != nil || r.ID == "" {
		return "", fmt.Errorf("no id in the answer to a create (%v): %.200s", err, resp.body)
	}
	return r.ID, nil
}

// listPage is the part of a ListResponse (RFC 7644 §3.4.2) scimload reads.
type listPage struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID          string `json:"id"`
		UserName    string `json:"userName"`
		DisplayName string `json:"displayName"`
	} `json:"Resources"`
}

// listSeeded pages through /Users and keeps the first n seeded users, by
// their userName.
func listSeeded(ctx context.Context, c scimClient, n int) (userPool, error) {
	want := make(map[string]bool, n)
	for i := range n {
		want[seedName(i)] = true
	}
	var pool userPool
	for start := 1; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(listPageSize)}, "attributes": {"userName"}}
		page, err := getList(ctx, c, "/Users?"+q.Encode())
		if err != nil {
			return userPool{}, fmt.Errorf("list the seeded users: %w", err)
		}
		for _, r := range page.Resources {
			if want[r.UserName] {
				delete(want, r.UserName)
				pool.ids = append(pool.ids, r.ID)
				pool.names = append(pool.names, r.UserName)
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			return pool, nil
		}
	}
}

// getList GETs and decodes one ListResponse.
func getList(ctx context.Context, c scimClient, path string) (listPage, error) {
	resp, err := c.expect(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return listPage{}, err
	}
	var page listPage
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return listPage{}, fmt.Errorf("GET %s: decode the list: %w", path, err)
	}
	return page, nil
}

// ensureGroup creates the group, or finds it if an earlier run did, and
// returns its id.
func ensureGroup(ctx context.Context, c scimClient, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
	})
	resp, err := c.expect(ctx, http.MethodPost, "/Groups", body, http.StatusCreated, http.StatusConflict)
	if err != nil {
		return "", fmt.Errorf("create group %q: %w", name, err)
	}
	if resp.status == http.StatusCreated {
		return decodeID(resp)
	}
	filter := url.Values{"filter": {fmt.Sprintf("displayName eq %q", name)}}
	page, err := getList(ctx, c, "/Groups?"+filter.Encode())
	if err != nil {
		return "", fmt.Errorf("find group %q: %w", name, err)
	}
	for _, r := range page.Resources {
		if r.DisplayName == name || r.DisplayName == "" {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("group %q exists (409) but a filter for it found nothing", name)
}
