package apierr

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestRetryAfterInText(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC) }
	tests := []struct {
		msg  string
		want time.Duration
	}{
		{"User-rate limit exceeded.  Retry after 2026-11-24T18:00:00.000Z (Mail sending)", 24 * time.Hour},
		{"User-rate limit exceeded. Retry after 2026-11-23T18:00:30Z", 30 * time.Second},
		{"Retry after 2026-11-23T17:00:00Z", 0}, // passed
		{"Retry after tomorrow", 0},
		{"Rate Limit Exceeded", 0},
	}
	for _, tt := range tests {
		if got := retryAfterInText(tt.msg, now); got != tt.want {
			t.Errorf("retryAfterInText(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestParseJSONAndXML(t *testing.T) {
	info := Parse(429, http.Header{"Retry-After": {"12"}}, []byte(`{"error":{"code":429,"message":"Too many concurrent requests for user","status":"RESOURCE_EXHAUSTED","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded"}],"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com"}]}}`))
	if info.RetryAfter != 12*time.Second || info.Status != "RESOURCE_EXHAUSTED" || !info.HasReason("ratelimitexceeded") || !info.HasReason("RATE_LIMIT_EXCEEDED") {
		t.Errorf("JSON: %+v", info)
	}
	info = Parse(400, nil, []byte(`<?xml version="1.0"?><AppsForYourDomainErrors><error errorCode="1811" invalidInput="" reason="LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval"/></AppsForYourDomainErrors>`))
	if info.GDataCode != 1811 || !info.HasReason("LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval") {
		t.Errorf("XML: %+v", info)
	}
	info = Parse(400, nil, []byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
	if !info.HasReason("invalid_grant") || info.Message != "Invalid JWT Signature." {
		t.Errorf("OAuth2: %+v", info)
	}
	info = Parse(502, nil, []byte("<html><body>Bad Gateway</body></html>"))
	if info.Message != "Bad Gateway" || info.GDataCode != 0 {
		t.Errorf("HTML: %+v", info)
	}
	info = Parse(502, nil, []byte("<!DOCTYPE html>\n<html lang=en><title>Error 502 (Server Error)!!1</title>"))
	if info.Message != "Bad Gateway" {
		t.Errorf("Google's HTML 502: message %q, want the status text", info.Message)
	}
}

type httpErr struct{}

func (httpErr) Error() string       { return "api error" }
func (httpErr) HTTPStatusCode() int { return 404 }

func TestStripURL(t *testing.T) {
	wrapped := &url.Error{Op: "Get", URL: "https://x", Err: httpErr{}}
	if got := StripURL(wrapped); got.Error() != "api error" {
		t.Errorf("StripURL = %v", got)
	}
	netErr := &url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection refused")}
	if got := StripURL(netErr); got != netErr {
		t.Errorf("a network error lost its URL: %v", got)
	}
}
