package workspacetest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	directory "google.golang.org/api/admin/directory/v1"
)

func TestDirectoryUsers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.AddUser("jane@example.com")
	s.AddUser("john@example.com")
	svc, err := directory.NewService(t.Context(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}

	getTests := []struct {
		key      string
		wantCode int
	}{
		{"jane@example.com", 0},
		{"JANE@example.com", 0},
		{id, 0},
		{"missing@example.com", 404},
	}
	for _, tt := range getTests {
		t.Run("get "+tt.key, func(t *testing.T) {
			u, err := svc.Users.Get(tt.key).Do()
			if tt.wantCode != 0 {
				if ge := apiError(t, err); ge.Code != tt.wantCode || reason(ge) != "notFound" {
					t.Errorf("code %d reason %q", ge.Code, reason(ge))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]string{id, "jane@example.com"}, [2]string{u.Id, u.PrimaryEmail}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	listTests := []struct {
		name, query string
		want        []string
	}{
		{"all", "", []string{"admin@example.com", "jane@example.com", "john@example.com"}},
		{"prefix", "email:j*", []string{"jane@example.com", "john@example.com"}},
		{"exact", "email:john@example.com", []string{"john@example.com"}},
		{"admins", "isAdmin=true", []string{"admin@example.com"}},
	}
	for _, tt := range listTests {
		t.Run("list "+tt.name, func(t *testing.T) {
			var got []string
			err := svc.Users.List().Customer("my_customer").Domain("example.com").Query(tt.query).MaxResults(2).
				Pages(t.Context(), func(p *directory.Users) error {
					for _, u := range p.Users {
						got = append(got, u.PrimaryEmail)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
