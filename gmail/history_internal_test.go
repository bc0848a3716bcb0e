package gmail

import (
	"errors"
	"strings"
	"testing"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace/internal/pager"
)

func TestHistoryOrder(t *testing.T) {
	o := historyOrder{last: 10}
	if err := o.check([]*gmailapi.History{{Id: 11}, {Id: 15}, {}}); err != nil {
		t.Fatal(err)
	}
	err := o.check([]*gmailapi.History{{Id: 16}, {Id: 15}})
	if err == nil || !strings.Contains(err.Error(), "history id 15") {
		t.Errorf("err = %v, want one naming the repeated history id 15", err)
	}
}

func TestPageGuard(t *testing.T) {
	var g pageGuard
	for _, tok := range []string{"a", "b"} {
		if err := g.next(tok); err != nil {
			t.Fatal(err)
		}
	}
	var le *pager.LoopError
	if err := g.next("a"); !errors.As(err, &le) || le.Token != "a" {
		t.Errorf("err = %v, want a *pager.LoopError for a", err)
	}
}
