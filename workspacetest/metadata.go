package workspacetest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Compute Engine metadata server, enough for Application Default
// Credentials on a VM (or Cloud Run, GKE): Google's libraries send
// "Metadata-Flavor: Google" to http://$GCE_METADATA_HOST/computeMetadata/v1/...
// and, when GCE_METADATA_HOST is set, trust it without probing. Served:
//
//	instance/service-accounts/default/token  {"access_token","expires_in","token_type"}
//	instance/service-accounts/default/email  the VM's service account
//	project/project-id                       the developer project
//	universe/universe-domain                 googleapis.com
//
// Requests without the Metadata-Flavor header get 403, as the real server
// refuses them (the fake's text is its own); other paths 404.

// defaultVMServiceAccount is the identity of the fake VM until
// SetMetadataServiceAccount.
const defaultVMServiceAccount = "vm-runner@" + serviceAccountProject + ".iam.gserviceaccount.com"

type metadataState struct{ email string }

var metadataStates = serverLocal[metadataState]{newT: func(*Server) *metadataState {
	return &metadataState{email: defaultVMServiceAccount}
}}

// MetadataHost returns the value for the GCE_METADATA_HOST environment
// variable (host:port, no scheme) that makes Google's libraries read
// instance metadata, and so Application Default Credentials, from the
// server. The VM's identity is [Server.MetadataServiceAccount]; its tokens
// hold the scopes asked for (cloud-platform when none) and, like
// [Server.CallerToken], may call signJwt once GrantTokenCreator allows.
func (s *Server) MetadataHost() string { return strings.TrimPrefix(s.URL, "http://") }

// MetadataServiceAccount returns the email of the fake VM's service
// account ("vm-runner@workspacetest-project.iam.gserviceaccount.com"
// unless SetMetadataServiceAccount changed it).
func (s *Server) MetadataServiceAccount() string {
	st := metadataStates.get(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	return st.email
}

// SetMetadataServiceAccount sets the identity the metadata server's tokens
// act as.
func (s *Server) SetMetadataServiceAccount(email string) {
	st := metadataStates.get(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.email = principalName(email)
}

func (s *Server) registerMetadata(mux *http.ServeMux) {
	mux.HandleFunc("GET /computeMetadata/v1/{rest...}", s.metadata)
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
		return
	}
	text := func(v string) {
		w.Header().Set("Content-Type", "application/text")
		_, _ = w.Write([]byte(v))
	}
	switch r.PathValue("rest") {
	case "instance/service-accounts/default/token":
		scopes := strings.FieldsFunc(r.URL.Query().Get("scopes"), func(c rune) bool { return c == ',' || c == ' ' })
		if len(scopes) == 0 {
			scopes = []string{scopeCloudPlatform}
		}
		email := s.MetadataServiceAccount()
		s.mu.Lock()
		tok, life := s.mintLocked(email, serviceAccountProject, scopes)
		s.mu.Unlock()
		secs := int64((life + time.Second - 1) / time.Second)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + tok + `","expires_in":` + strconv.FormatInt(secs, 10) + `,"token_type":"Bearer"}`))
	case "instance/service-accounts/default/email":
		text(s.MetadataServiceAccount())
	case "project/project-id":
		text(serviceAccountProject)
	case "universe/universe-domain":
		text("googleapis.com")
	case "":
		text("instance/\nproject/\n")
	default:
		http.Error(w, "Not Found", http.StatusNotFound)
	}
}
