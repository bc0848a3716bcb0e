package workspacetest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/workspacetest"
	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"
)

// bearerTransport sends a fixed access token.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r2)
}

// userHTTPClient returns a client whose requests act as user (a seeded
// user), as a domain-wide delegated token for that user would.
func userHTTPClient(t *testing.T, s *workspacetest.Server, user string, scopes ...string) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: bearerTransport{token: s.IssueToken(user, scopes...), base: tr}}
}

// gmailFor returns a Gmail client acting as user.
func gmailFor(t *testing.T, s *workspacetest.Server, user string, scopes ...string) *gmail.Service {
	t.Helper()
	svc, err := gmail.NewService(context.Background(),
		option.WithEndpoint(s.URL+"/"), option.WithHTTPClient(userHTTPClient(t, s, user, scopes...)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// mailMsg builds a CRLF message; extra lines are added to the header.
func mailMsg(from, to, subject, body string, extra ...string) string {
	h := fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\n", from, to, subject)
	date := "Date: Mon, 2 Jan 2026 15:04:05 -0700"
	for _, e := range extra {
		if strings.HasPrefix(e, "Date:") {
			date = e
			continue
		}
		h += e + "\n"
	}
	h += date + "\n"
	return crlf(h + "\n" + body + "\n")
}

// multipartMsg is a message with a text part, an HTML part and an
// attachment.
func multipartMsg() string {
	return crlf(`From: carol@example.org
To: bob@example.com
Subject: Report & figures
Date: Tue, 3 Feb 2026 10:00:00 +0000
Message-ID: <report-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob, the figures are attached =E2=80=94 see you.
--inner
Content-Type: text/html; charset=utf-8

<p>Hello Bob</p>
--inner--
--outer
Content-Type: application/pdf; name="figures.pdf"
Content-Disposition: attachment; filename="figures.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCg==
--outer--
`)
}

// newGmailServer starts a server with bob and dave seeded.
func newGmailServer(t *testing.T, opts ...workspacetest.Option) *workspacetest.Server {
	t.Helper()
	s := newServer(t, opts...)
	s.AddUser("bob@example.com")
	s.AddUser("dave@example.com")
	return s
}

func ids(msgs []*gmail.Message) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Id)
	}
	return strings.Join(out, ",")
}
