package scim_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/scimd/scimd/backend"
	"github.com/scimd/scimd/resources"
)

// settingRacer changes the organization's substringSearch setting (as an
// owner may at any time, from another server) just before each of the
// first times creations reach the store (all of them when times < 0).
type settingRacer struct {
	*backend.Store
	times int
	on    bool
}

func (s *settingRacer) CreateUser(ctx context.Context, org string, u resources.Resource, w resources.UserWrite) (resources.Resource, error) {
	if s.times != 0 {
		s.times--
		attrs := []string{}
		if s.on = !s.on; s.on {
			attrs = []string{"displayName"}
		}
		if _, err := s.Store.SetSubstringSearch(ctx, org, attrs); err != nil {
			return resources.Resource{}, err
		}
	}
	return s.Store.CreateUser(ctx, org, u, w)
}

// TestCreateDuringSettingChanges: a creation whose write meets a changed
// User type (each setting change moves it twice) is checked again and
// made; one that keeps meeting changes answers 503, retryable, and writes
// nothing. It was 500 after the third.
func TestCreateDuringSettingChanges(t *testing.T) {
	racer := &settingRacer{times: 5}
	a := newAPIWith(t, "", storeWrap{users: func(s *backend.Store) resources.UserStore { racer.Store = s; return racer }})
	a.do("POST", "/Users", ownerToken, user("race@example.com", nil)).must(t, http.StatusCreated)
	racer.times = -1
	a.do("POST", "/Users", ownerToken, user("race2@example.com", nil)).scimError(t, http.StatusServiceUnavailable, "", "retry")
	racer.times = 0
	if n := count(a, t, "/Users", `userName sw "race"`); n != 1 {
		t.Errorf("%v users, want race@example.com alone", n)
	}
}
