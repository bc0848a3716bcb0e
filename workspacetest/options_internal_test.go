package workspacetest

import "testing"

func TestWithGmailRegimeOption(t *testing.T) {
	s := NewServer(WithGmailRegime(Gmail2026Regime))
	defer s.Close()
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.cfg.Regime != Gmail2026Regime || g.cfg.UserUnitsPerMinute != 6000 {
		t.Errorf("config = %+v, want the 2026 regime with 6,000 units per user per minute", g.cfg)
	}
}
