package workspacetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Admin SDK Data Transfer API (admin/datatransfer/v1).
//
// Transfers move through the statuses "new", "inProgress" and then
// "completed" (or "failed" when a FaultTransferFailed fault was injected
// into their insert), following the server clock: they stay "new" for the
// pending time and each application finishes in turn over the running time
// (WithTransferTiming, scaled by speed).

const (
	scopeDataTransfer         = "https://www.googleapis.com/auth/admin.datatransfer"
	scopeDataTransferReadonly = "https://www.googleapis.com/auth/admin.datatransfer.readonly"
)

// Application ids of the Data Transfer API, as Google publishes them.
const (
	AppDriveAndDocs = "55656082996"
	AppCalendar     = "435070579839"
	AppLookerStudio = "810260081642"
)

// Transfer status values.
const (
	TransferNew        = "new"
	TransferInProgress = "inProgress"
	TransferCompleted  = "completed"
	TransferFailed     = "failed"
)

type transferParam struct {
	Key   string   `json:"key"`
	Value []string `json:"value,omitempty"`
}

type application struct {
	id     string
	name   string
	params []transferParam // allowed keys and values
}

// applications are the apps the fake offers, in list order.
var applications = []application{
	{id: AppDriveAndDocs, name: "Drive and Docs", params: []transferParam{{Key: "PRIVACY_LEVEL", Value: []string{"PRIVATE", "SHARED"}}}},
	{id: AppCalendar, name: "Calendar", params: []transferParam{{Key: "RELEASE_RESOURCES", Value: []string{"TRUE"}}}},
	{id: AppLookerStudio, name: "Looker Studio"},
}

func findApplication(id string) *application {
	for i := range applications {
		if applications[i].id == id {
			return &applications[i]
		}
	}
	return nil
}

func applicationJSON(a *application) map[string]any {
	m := map[string]any{
		"kind": "admin#datatransfer#ApplicationResource",
		"etag": `"app-` + a.id + `"`,
		"id":   a.id,
		"name": a.name,
	}
	if len(a.params) > 0 {
		m["transferParams"] = a.params
	}
	return m
}

// transfer is a Data Transfer API transfer.
type transfer struct {
	id       string
	oldOwner string
	newOwner string
	apps     []appTransfer
	request  time.Time
	fail     bool
}

type appTransfer struct {
	appID  string
	params []transferParam
}

// status computes the overall and per-application status at now.
func (s *Server) transferStatus(t *transfer, now time.Time) (overall string, apps []string) {
	pending, running := s.scaled(s.cfg.transferPending), s.scaled(s.cfg.transferRunning)
	elapsed := now.Sub(t.request)
	end := TransferCompleted
	if t.fail {
		end = TransferFailed
	}
	n := len(t.apps)
	done := 0
	for i := range t.apps {
		st := TransferNew
		switch {
		case elapsed < pending:
		case elapsed < pending+running*time.Duration(i+1)/time.Duration(n):
			st = TransferInProgress
		default:
			st, done = end, done+1
		}
		apps = append(apps, st)
	}
	switch {
	case elapsed < pending:
		overall = TransferNew
	case done < n:
		overall = TransferInProgress
	default:
		overall = end
	}
	return overall, apps
}

func (s *Server) transferJSON(t *transfer, now time.Time) map[string]any {
	overall, appStatus := s.transferStatus(t, now)
	adts := make([]map[string]any, len(t.apps))
	for i, a := range t.apps {
		m := map[string]any{"applicationId": a.appID, "applicationTransferStatus": appStatus[i]}
		if len(a.params) > 0 {
			m["applicationTransferParams"] = a.params
		}
		adts[i] = m
	}
	return map[string]any{
		"kind":                      "admin#datatransfer#DataTransfer",
		"etag":                      `"` + t.id + `/` + overall + `"`,
		"id":                        t.id,
		"oldOwnerUserId":            t.oldOwner,
		"newOwnerUserId":            t.newOwner,
		"applicationDataTransfers":  adts,
		"overallTransferStatusCode": overall,
		"requestTime":               t.request.UTC().Format(time.RFC3339Nano),
	}
}

func (s *Server) registerDataTransfer(mux *http.ServeMux) {
	s.setQuota("datatransfer", quotaRule{PerSecond: 10, PerDay: 500000, Status: http.StatusServiceUnavailable})
	read := []string{scopeDataTransfer, scopeDataTransferReadonly}
	write := []string{scopeDataTransfer}
	reg := func(pattern, method string, scopes []string, h http.HandlerFunc) {
		s.handle(mux, pattern, endpoint{
			api: "datatransfer", method: method, scopes: scopes, adminOnly: true, h: h,
			faultOK: func(k FaultKind, _ *http.Request) bool {
				return k != FaultTransferFailed || method == "transfers.insert"
			},
		})
	}
	reg("GET /admin/datatransfer/v1/applications", "applications.list", read, s.dtApplicationsList)
	reg("GET /admin/datatransfer/v1/applications/{applicationId}", "applications.get", read, s.dtApplicationsGet)
	reg("POST /admin/datatransfer/v1/transfers", "transfers.insert", write, s.dtTransfersInsert)
	reg("GET /admin/datatransfer/v1/transfers/{dataTransferId}", "transfers.get", read, s.dtTransfersGet)
	reg("GET /admin/datatransfer/v1/transfers", "transfers.list", read, s.dtTransfersList)
}

// checkCustomer refuses a customerId other than the fake customer's.
func (s *Server) checkCustomer(w http.ResponseWriter, r *http.Request) bool {
	c := r.URL.Query().Get("customerId")
	if c != "" && c != "my_customer" && c != s.customerID {
		writeError(w, http.StatusForbidden, "forbidden", "Not Authorized to access this resource/api")
		return false
	}
	return true
}

func (s *Server) dtApplicationsList(w http.ResponseWriter, r *http.Request) {
	if !s.checkCustomer(w, r) {
		return
	}
	all := make([]map[string]any, len(applications))
	for i := range applications {
		all[i] = applicationJSON(&applications[i])
	}
	page, next, ok := paginate(w, r, all, 100, 500)
	if !ok {
		return
	}
	body := map[string]any{"kind": "admin#datatransfer#applicationsList", "etag": `"applications"`, "applications": page}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dtApplicationsGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("applicationId")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid value at 'applicationId' (TYPE_INT64), \""+id+"\"")
		return
	}
	a := findApplication(id)
	if a == nil {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: applicationId")
		return
	}
	writeJSON(w, http.StatusOK, applicationJSON(a))
}

// int64String accepts an int64 sent as a JSON string (Google's encoding)
// or as a JSON number.
type int64String string

func (v *int64String) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if _, err := strconv.ParseInt(str, 10, 64); err != nil {
		return err
	}
	*v = int64String(str)
	return nil
}

func (s *Server) dtTransfersInsert(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OldOwnerUserID           string `json:"oldOwnerUserId"`
		NewOwnerUserID           string `json:"newOwnerUserId"`
		ApplicationDataTransfers []struct {
			ApplicationID     int64String     `json:"applicationId"`
			ApplicationParams []transferParam `json:"applicationTransferParams"`
		} `json:"applicationDataTransfers"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Invalid JSON payload received. "+err.Error())
		return
	}
	bad := func(msg string) { writeError(w, http.StatusBadRequest, "invalid", msg) }
	if in.OldOwnerUserID == "" || in.NewOwnerUserID == "" {
		bad("Missing required field: oldOwnerUserId and newOwnerUserId are required.")
		return
	}
	if in.OldOwnerUserID == in.NewOwnerUserID {
		bad("The old and new owners must be different users.")
		return
	}
	if len(in.ApplicationDataTransfers) == 0 {
		bad("Missing required field: applicationDataTransfers.")
		return
	}
	t := &transfer{oldOwner: in.OldOwnerUserID, newOwner: in.NewOwnerUserID}
	seen := map[string]bool{}
	for _, adt := range in.ApplicationDataTransfers {
		id := string(adt.ApplicationID)
		a := findApplication(id)
		if a == nil {
			bad("Invalid application id " + id + ".")
			return
		}
		if seen[id] {
			bad("Application " + id + " is listed twice.")
			return
		}
		seen[id] = true
		for _, p := range adt.ApplicationParams {
			i := slices.IndexFunc(a.params, func(ap transferParam) bool { return ap.Key == p.Key })
			if i < 0 {
				bad("Invalid transfer parameter " + p.Key + " for application " + a.name + ".")
				return
			}
			for _, v := range p.Value {
				if !slices.Contains(a.params[i].Value, v) {
					bad("Invalid value " + v + " for transfer parameter " + p.Key + ".")
					return
				}
			}
		}
		t.apps = append(t.apps, appTransfer{appID: id, params: adt.ApplicationParams})
	}

	s.mu.Lock()
	oldU, newU := s.usersByID[t.oldOwner], s.usersByID[t.newOwner]
	if oldU == nil || newU == nil {
		s.mu.Unlock()
		which := "oldOwnerUserId"
		if oldU != nil {
			which = "newOwnerUserId"
		}
		bad("Invalid " + which + ": no such user (use the Directory API user id, not the email address).")
		return
	}
	s.transferSeq++
	t.id = "AKrEtIwst" + leftPad(strconv.Itoa(s.transferSeq), 12)
	t.request = s.nowLocked()
	t.fail = callerFrom(r).fault == FaultTransferFailed
	s.transfers = append(s.transfers, t)
	body := s.transferJSON(t, t.request)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dtTransfersGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("dataTransferId")
	s.mu.Lock()
	var body map[string]any
	for _, t := range s.transfers {
		if t.id == id {
			body = s.transferJSON(t, s.nowLocked())
			break
		}
	}
	s.mu.Unlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "notFound", "Resource Not Found: dataTransferId")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) dtTransfersList(w http.ResponseWriter, r *http.Request) {
	if !s.checkCustomer(w, r) {
		return
	}
	q := r.URL.Query()
	oldOwner, newOwner, status := q.Get("oldOwnerUserId"), q.Get("newOwnerUserId"), q.Get("status")
	s.mu.Lock()
	now := s.nowLocked()
	var all []map[string]any
	for _, t := range s.transfers {
		if oldOwner != "" && t.oldOwner != oldOwner || newOwner != "" && t.newOwner != newOwner {
			continue
		}
		if status != "" {
			if overall, _ := s.transferStatus(t, now); overall != status {
				continue
			}
		}
		all = append(all, s.transferJSON(t, now))
	}
	s.mu.Unlock()
	page, next, ok := paginate(w, r, all, 100, 500)
	if !ok {
		return
	}
	body := map[string]any{"kind": "admin#datatransfer#dataTransfersList", "etag": `"transfers"`, "dataTransfers": page}
	if next != "" {
		body["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, body)
}
