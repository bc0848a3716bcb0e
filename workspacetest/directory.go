package workspacetest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Directory API (admin/directory/v1), the minimum other APIs need: users.
// Customers and domains resources belong here too when they are added
// (register their routes in registerDirectory).

const (
	scopeDirectoryUser         = "https://www.googleapis.com/auth/admin.directory.user"
	scopeDirectoryUserReadonly = "https://www.googleapis.com/auth/admin.directory.user.readonly"
)

// user is a seeded Workspace user.
type user struct {
	id    string
	email string
	admin bool
	// suspended: set by SuspendUser; the token endpoint refuses the user
	// as a subject and its tokens stop working.
	suspended bool
}

// AddUser seeds a user of the domain and returns its Directory id (a
// numeric string). Adding an existing user returns its id. It panics if
// email is not an address in the server's domain.
func (s *Server) AddUser(email string) (id string) { return s.addUser(email, false) }

// AddAdmin is AddUser for a super admin. Only admins may call the admin
// APIs (Directory, Data Transfer, Groups Migration, Email Audit, Admin
// Settings, Cloud Identity); a user added with AddUser gets 403 "Not
// Authorized to access this resource/api" from them, and may still use
// Gmail for its own mailbox.
func (s *Server) AddAdmin(email string) (id string) { return s.addUser(email, true) }

func (s *Server) addUser(email string, admin bool) string {
	email = strings.ToLower(email)
	if !validEmail(email) || domainOf(email) != s.cfg.domain {
		panic("workspacetest: AddUser: " + email + " is not an address in " + s.cfg.domain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.usersByEmail[email]; u != nil {
		u.admin = u.admin || admin
		return u.id
	}
	u := &user{id: "1" + leftPad(strconv.Itoa(len(s.users)+1), 20), email: email, admin: admin}
	s.users = append(s.users, u)
	s.usersByEmail[email] = u
	s.usersByID[u.id] = u
	return u.id
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// UserID returns the id of a seeded user, or "" when there is none.
func (s *Server) UserID(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.usersByEmail[strings.ToLower(email)]; u != nil {
		return u.id
	}
	return ""
}

// lookupUserLocked finds a user by primary email or id; s.mu must be held.
func (s *Server) lookupUserLocked(key string) *user {
	if u := s.usersByID[key]; u != nil {
		return u
	}
	return s.usersByEmail[strings.ToLower(key)]
}

func (s *Server) registerDirectory(mux *http.ServeMux) {
	// Scopes as the discovery document lists them per method: users.list
	// also accepts cloud-platform, users.get does not.
	scopes := []string{scopeDirectoryUser, scopeDirectoryUserReadonly}
	s.handle(mux, "GET /admin/directory/v1/users/{userKey}", endpoint{
		api: "directory", method: "users.get", scopes: scopes, adminOnly: true, h: s.directoryUserGet,
	})
	s.handle(mux, "GET /admin/directory/v1/users", endpoint{
		api: "directory", method: "users.list", scopes: append(slices.Clip(scopes), scopeCloudPlatform),
		adminOnly: true, h: s.directoryUserList,
	})
	// Customers and domains: add "GET /admin/directory/v1/customers/{customerKey}"
	// and "GET /admin/directory/v1/customer/{customer}/domains..." here.
}

// userJSON renders a user as a Directory User resource.
func (s *Server) userJSON(u *user) map[string]any {
	local, _, _ := strings.Cut(u.email, "@")
	return map[string]any{
		"kind":           "admin#directory#user",
		"id":             u.id,
		"etag":           `"` + u.id + `"`,
		"primaryEmail":   u.email,
		"name":           map[string]string{"givenName": local, "familyName": "Test", "fullName": local + " Test"},
		"isAdmin":        u.admin,
		"customerId":     s.customerID,
		"orgUnitPath":    "/",
		"suspended":      u.suspended,
		"emails":         []map[string]any{{"address": u.email, "primary": true}},
		"isMailboxSetup": true,
	}
}

func (s *Server) directoryUserGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.lookupUserLocked(r.PathValue("userKey"))
	var body map[string]any
	if u != nil {
		body = s.userJSON(u)
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) directoryUserList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	customer, domain := q.Get("customer"), strings.ToLower(q.Get("domain"))
	if customer == "" && domain == "" {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	if customer != "" && customer != "my_customer" && customer != s.customerID {
		writeError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	if domain != "" && domain != s.cfg.domain {
		writeError(w, http.StatusForbidden, "forbidden", "Not Authorized to access this resource/api")
		return
	}
	match := queryMatcher(q.Get("query"))
	s.mu.Lock()
	var all []map[string]any
	for _, u := range s.users {
		if match(u) {
			all = append(all, s.userJSON(u))
		}
	}
	s.mu.Unlock()
	page, next, ok := paginate(w, r, all, 100, 500)
	if !ok {
		return
	}
	body := map[string]any{"kind": "admin#directory#users", "etag": `"users"`, "users": page}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// queryMatcher implements a small part of the Directory search syntax:
// "email:VALUE", "isAdmin=true|false" and bare words (matched against the
// email). A trailing * makes a prefix match; terms are ANDed.
func queryMatcher(query string) func(*user) bool {
	var tests []func(*user) bool
	for _, term := range strings.Fields(query) {
		field, value, found := strings.Cut(term, ":")
		if !found {
			field, value, found = strings.Cut(term, "=")
		}
		if !found {
			field, value = "email", term
		}
		value = strings.ToLower(strings.Trim(value, `'"`))
		switch strings.ToLower(field) {
		case "isadmin":
			want := value == "true"
			tests = append(tests, func(u *user) bool { return u.admin == want })
		default:
			prefix := strings.HasSuffix(value, "*")
			value = strings.TrimSuffix(value, "*")
			tests = append(tests, func(u *user) bool {
				if prefix {
					return strings.HasPrefix(u.email, value)
				}
				return u.email == value || strings.Contains(u.email, value)
			})
		}
	}
	return func(u *user) bool {
		return !slices.ContainsFunc(tests, func(t func(*user) bool) bool { return !t(u) })
	}
}
