package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// encryptTo encrypts plain to the shared test key, as Google does (binary).
func encryptTo(t testing.TB, plain []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := openpgp.Encrypt(&b, openpgp.EntityList{testKey(t).Entity}, nil, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fileServer serves one file and records what it saw.
type fileServer struct {
	*httptest.Server
	data []byte

	mu      sync.Mutex
	auth    []string // Authorization header of each request
	ranges  []string // Range header of each request
	cutOnce int      // the first request sends only this many bytes, then drops
	noRange bool     // ignore Range
	gone    bool     // answer 410
}

func newFileServer(t *testing.T, data []byte) *fileServer {
	fs := &fileServer{data: data}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.auth = append(fs.auth, r.Header.Get("Authorization"))
		fs.ranges = append(fs.ranges, r.Header.Get("Range"))
		cut := fs.cutOnce
		fs.cutOnce = 0
		fs.mu.Unlock()
		if fs.gone {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		if cut > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(fs.data)))
			w.WriteHeader(http.StatusOK)
			w.Write(fs.data[:cut])
			// Drop the connection mid-body.
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
			return
		}
		if fs.noRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(fs.data))
	}))
	t.Cleanup(fs.Close)
	return fs
}

// apiEnv is a client whose endpoint is api (a stand-in for Google's API
// host) with a static bearer token. Its sleeps return at once.
func apiEnv(t *testing.T, api *httptest.Server) *Client {
	return apiEnvSleep(t, api, noSleep)
}

// apiEnvSleep is apiEnv with sleep as the client's retry Sleep, which
// Download's pauses go through.
func apiEnvSleep(t *testing.T, api *httptest.Server, sleep func(ctx context.Context, d time.Duration) error) *Client {
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(api.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "secret-token", Expiry: time.Now().Add(time.Hour)})),
		workspace.WithRetry(func(o *retry.Options) { fastRetry(o); o.Sleep = sleep }), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	return New(core, "example.com")
}

func completed(urls ...string) *Export {
	return &Export{RequestID: "70001", User: "alice", Status: StatusCompleted, FileURLs: urls, NumberOfFiles: len(urls)}
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func TestDownloadCredentialsHostRule(t *testing.T) {
	plain := bytes.Repeat([]byte("From x\nSubject: y\n\nbody\n\n"), 1000)
	data := encryptTo(t, plain)
	api := newFileServer(t, data)     // the configured endpoint
	foreign := newFileServer(t, data) // any other host
	// The endpoint redirects /redirect to the foreign host.
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, foreign.URL+"/file", http.StatusFound)
			return
		}
		api.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(redir.Close)
	a := apiEnv(t, redir)

	dir := t.TempDir()
	files, err := a.Exports.Download(t.Context(), completed(redir.URL+"/a/data/compliance/audit/x", foreign.URL+"/direct", redir.URL+"/redirect"), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	if len(api.auth) != 1 || api.auth[0] != "Bearer secret-token" {
		t.Errorf("the API host saw Authorization %q, want the token", api.auth)
	}
	if len(foreign.auth) != 2 || foreign.auth[0] != "" || foreign.auth[1] != "" {
		t.Errorf("the foreign host saw Authorization %q, want none (direct and after a redirect)", foreign.auth)
	}
	for _, f := range files {
		got, _ := os.ReadFile(f.Path)
		if !bytes.Equal(got, data) || !f.SizeChecked {
			t.Errorf("file %d differs (%d bytes, checked %v)", f.Index, len(got), f.SizeChecked)
		}
	}
	// Round trip: byte-identical mbox.
	var out bytes.Buffer
	res, err := Decrypt(t.Context(), &out, bytes.NewReader(data), testPrivate(t), nil)
	if err != nil || !bytes.Equal(out.Bytes(), plain) || res.Messages != 1000 {
		t.Errorf("decrypt: %v, %d messages, identical %v", err, res.Messages, bytes.Equal(out.Bytes(), plain))
	}
}

func TestDownloadResume(t *testing.T) {
	data := encryptTo(t, bytes.Repeat([]byte("0123456789"), 50_000))
	for _, tt := range []struct {
		name        string
		noRange     bool
		wantRange   string
		wantResumed bool
	}{
		{"range", false, "bytes=100000-", true},
		{"no range support", true, "bytes=100000-", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFileServer(t, data)
			fs.cutOnce, fs.noRange = 100_000, tt.noRange
			var pauses []time.Duration
			a := apiEnvSleep(t, fs.Server, func(ctx context.Context, d time.Duration) error { pauses = append(pauses, d); return nil })
			files, err := a.Exports.Download(t.Context(), completed(fs.URL+"/f"), t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(files[0].Path)
			if !bytes.Equal(got, data) || files[0].Resumed != tt.wantResumed || !files[0].SizeChecked {
				t.Errorf("file: %d bytes (want %d), resumed %v", len(got), len(data), files[0].Resumed)
			}
			if len(fs.ranges) != 2 || fs.ranges[0] != "" || fs.ranges[1] != tt.wantRange {
				t.Errorf("Range headers %q", fs.ranges)
			}
			if len(pauses) != 1 || pauses[0] != time.Second {
				t.Errorf("pauses %v", pauses)
			}
			if _, err := os.Stat(files[0].Path + ".part"); !os.IsNotExist(err) {
				t.Errorf(".part left behind: %v", err)
			}
		})
	}
}

func TestDownloadPartialFileOnDisk(t *testing.T) {
	data := encryptTo(t, []byte("From a\n\nb\n"))
	fs := newFileServer(t, data)
	a := apiEnv(t, fs.Server)
	dir := t.TempDir()
	x := completed(fs.URL + "/f")
	final := filepath.Join(dir, fileName(x, 0))
	// A previous run left half the file: resumed with Range.
	os.WriteFile(final+".part", data[:len(data)/2], 0o600)
	files, err := a.Exports.Download(t.Context(), x, dir, nil)
	if err != nil || !files[0].Resumed {
		t.Fatalf("%+v %v", files, err)
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, data) {
		t.Error("resumed file differs")
	}
	// A .part longer than the file (416): started again.
	os.Remove(final)
	os.WriteFile(final+".part", append(bytes.Clone(data), "junk"...), 0o600)
	if _, err := a.Exports.Download(t.Context(), x, dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(final); !bytes.Equal(got, data) {
		t.Error("restarted file differs")
	}
}

func TestDownloadGoneAndShort(t *testing.T) {
	fs := newFileServer(t, []byte("x"))
	fs.gone = true
	a := apiEnv(t, fs.Server)
	_, err := a.Exports.Download(t.Context(), completed(fs.URL+"/f"), t.TempDir(), nil)
	if !errors.Is(err, ErrExpired) {
		t.Errorf("410: %v", err)
	}
	// A server that always stops short: retried, then a clear error.
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte(strings.Repeat("x", 10)))
	}))
	t.Cleanup(short.Close)
	_, err = a.Exports.Download(t.Context(), completed(short.URL+"/f"), t.TempDir(), &DownloadOptions{Attempts: 3})
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("short: %v", err)
	}
	// Inconsistent numberOfFiles.
	x := completed(fs.URL + "/f")
	x.NumberOfFiles = 2
	if _, err := a.Exports.Download(t.Context(), x, t.TempDir(), nil); err == nil {
		t.Error("numberOfFiles mismatch accepted")
	}
}

var _ = io.EOF
