package settings_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
)

func TestGetPartialFailure(t *testing.T) {
	e := newEnv(t)
	// Legacy feeds answer only for the primary domain: those parts fail,
	// the others are still read.
	s := settings.New(e.core, "other.example.org")
	dns := settings.StaticResolver{"other.example.org": {{Host: "mx.other.example.org", Pref: 10, TTL: time.Minute}}}
	st, err := s.Get(t.Context(), &settings.GetOptions{MX: &settings.MXOptions{Resolver: dns}})
	if err == nil || !errors.Is(err, workspace.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	var failed []string
	for k := range st.Errors {
		failed = append(failed, k)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []string{"gateway", "signingKey", "sso"}) {
		t.Errorf("failed parts %v", failed)
	}
	if st.SSO != nil || st.Customer == nil || len(st.Domains) != 1 || st.MX == nil || st.MX.PointsAtGoogle {
		t.Errorf("snapshot: %+v", st)
	}
	st, err = e.s.Get(t.Context(), &settings.GetOptions{SkipLegacy: true, SkipDirectory: true})
	if err != nil || st.Customer != nil || st.SSO != nil {
		t.Errorf("skips: %+v %v", st, err)
	}
}
