package workspacetest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
)

func TestWriteGoogleErrorDecodes(t *testing.T) {
	rec := httptest.NewRecorder()
	rw := &respWriter{ResponseWriter: rec, ep: &endpoint{decorate: decorateMigration}}
	writeError(rw, http.StatusBadRequest, "invalid", "Invalid message: missing From header")
	res := rec.Result()
	err := googleapi.CheckResponse(res)
	ge, ok := err.(*googleapi.Error)
	if !ok {
		t.Fatalf("CheckResponse = %T %v", err, err)
	}
	got := []any{ge.Code, ge.Message, ge.Errors[0].Reason, rw.reason, rw.status}
	want := []any{400, "Invalid message: missing From header", "invalid", "invalid", 400}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if want := `{"error":{"code":400,"errors":[{"message":"Invalid message: missing From header","domain":"global","reason":"invalid"}],"message":"Invalid message: missing From header","status":"INVALID_ARGUMENT"},"kind":"groupsmigration#groups","responseCode":"INVALID MESSAGE FAILURE"}`; ge.Body != want {
		t.Errorf("body:\n got %s\nwant %s", ge.Body, want)
	}
}

func TestWriteGDataError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeGDataError(rec, http.StatusBadRequest, gdataEntityDoesNotExist, "jdoe", "")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<AppsForYourDomainErrors><error errorCode="1301" invalidInput="jdoe" reason="EntityDoesNotExist"></error></AppsForYourDomainErrors>`
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=UTF-8" {
		t.Errorf("content type %q", ct)
	}
}

func TestWriteStyledGDataQuota(t *testing.T) {
	rec := httptest.NewRecorder()
	rw := &respWriter{ResponseWriter: rec}
	ep := &endpoint{style: styleGData}
	writeStyled(rw, ep, googleError{Code: 503, Items: []errorItem{{Reason: "rateLimitExceeded"}}})
	if rec.Code != 503 || rw.reason != "rateLimitExceeded" {
		t.Errorf("code %d reason %q", rec.Code, rw.reason)
	}
	if want := `errorCode="1001"`; !contains(rec.Body.String(), want) {
		t.Errorf("body %s lacks %s", rec.Body, want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
