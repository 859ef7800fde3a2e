package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/resources"
)

// CreateUsers stores new users as [Store.CreateUser] does, each with its own
// run of the same write script (document, uniqueness, indexes, ordering set
// and change log, atomically per user), but sends them all in one pipeline:
// one round trip for the batch instead of one per user. It is for seeding an
// organization with many users (scimload bench); requests go through
// CreateUser.
//
// created[i] and errs[i] are the outcome of users[i] with ws[i], as
// CreateUser would return them; err is set when the batch could not be sent
// or its answers were lost, and then no user's outcome is known. Users with no
// ID get one.
func (s *Store) CreateUsers(ctx context.Context, org string, users []resources.Resource, ws []resources.UserWrite) (created []resources.Resource, errs []error, err error) {
	if len(ws) != len(users) {
		return nil, nil, fmt.Errorf("create users: %d users and %d writes", len(users), len(ws))
	}
	p, err := prefix(org)
	if err != nil {
		return nil, nil, fmt.Errorf("create users: %w", err)
	}
	// EVALSHA or FCALL in a pipeline cannot fall back per command: load the
	// script, or the library, first.
	call, name := "evalsha", s.writeUser.Hash()
	if s.functions {
		call, name = "fcall", s.writeUser.function
		if err := s.loadLibrary(ctx); err != nil {
			return nil, nil, fmt.Errorf("create users: load the script library: %w", err)
		}
	} else if err := s.writeUser.Load(ctx, s.client).Err(); err != nil {
		return nil, nil, fmt.Errorf("create users: load the write script: %w", err)
	}
	var stored *resources.UserWrite // the organization's type, read once for the writes that have none
	ws = slices.Clone(ws)
	for i, w := range ws {
		if w.Typed {
			continue
		}
		if stored == nil {
			t, err := s.typed(ctx, p, resources.UserWrite{})
			if err != nil {
				return nil, nil, fmt.Errorf("create users: %w", err)
			}
			stored = &t
		}
		ws[i].Custom, ws[i].Typed = stored.Custom, true
	}
	calls := make([]userWrite, len(users))
	cmds := make([]*redis.Cmd, len(users))
	pipe := s.client.Pipeline()
	for i, u := range users {
		if u.ID == "" {
			u.ID = newID()
		}
		if calls[i], err = s.userWriteCall(ctx, p, u, 0, ws[i]); err != nil {
			return nil, nil, fmt.Errorf("create user %s: %w", u.ID, err)
		}
		a := make([]any, 0, 3+len(calls[i].keys)+len(calls[i].args))
		a = append(a, call, name, len(calls[i].keys))
		for _, k := range calls[i].keys {
			a = append(a, k)
		}
		a = append(a, calls[i].args...)
		cmds[i] = redis.NewCmd(ctx, a...)
		cmds[i].SetFirstKeyPos(3)
		// Not resent as a batch: a creation run twice answers "exists".
		_ = pipe.Process(ctx, noResend{cmds[i]})
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReply(err) {
		return nil, nil, fmt.Errorf("create users: redis: %w", err)
	}
	created = make([]resources.Resource, len(users))
	errs = make([]error, len(users))
	for i, cmd := range cmds {
		res, err := cmd.Slice()
		if err == nil {
			created[i], err = calls[i].result(&s.users, res)
		} else {
			err = fmt.Errorf("redis: %w", err)
		}
		if err != nil {
			errs[i] = fmt.Errorf("create user %s: %w", calls[i].u.ID, err)
		}
	}
	return created, errs, nil
}

// isReply reports whether err is an error answer of Redis to a command (one
// command of a pipeline failed, the others ran), not a failure to talk to it.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}
