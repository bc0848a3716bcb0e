package settings_test

import (
	"bytes"
	"context"
	"crypto/dsa" //lint:ignore SA1019 the Admin Settings API takes DSA signing keys
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

// fastRetry retries like the defaults but never waits for real.
func fastRetry(o *retry.Options) {
	for _, p := range []*retry.Policy{&o.Default} {
		*p = retry.DefaultPolicy(workspace.APIAudit)
		p.Initial, p.Max, p.Jitter = time.Millisecond, time.Millisecond, 0
	}
	o.Budget = retry.Unbudgeted()
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

// sent is one request the client sent (token requests excluded).
type sent struct {
	Method, Path, Query, ContentType string
	Body                             []byte
}

// recorder is a base transport that records what reaches the wire.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "token") {
		var b []byte
		if req.Body != nil {
			b, _ = io.ReadAll(req.Body)
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, sent{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Content-Type"), b})
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// requests returns the recorded requests whose path contains sub.
func (r *recorder) requests(sub string) []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sent
	for _, s := range r.reqs {
		if strings.Contains(s.Path, sub) {
			out = append(out, s)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

type env struct {
	srv  *workspacetest.Server
	rec  *recorder
	core *workspace.Client
	s    *settings.Client
}

func coreOf(t *testing.T, e *env) *workspace.Client { return e.core }

// newEnv starts a fake and a settings client acting as its admin through
// the service-account key (so each API's scopes are checked by the fake).
func newEnv(t *testing.T, opts ...workspacetest.Option) *env {
	t.Helper()
	return newEnvSleep(t, nil, opts...)
}

// newEnvSleep is newEnv with a client whose waits (retries, WaitMX's
// pauses) go through sleep; nil means they return at once.
func newEnvSleep(t *testing.T, sleep func(context.Context, time.Duration) error, opts ...workspacetest.Option) *env {
	t.Helper()
	srv := workspacetest.NewServer(append([]workspacetest.Option{workspacetest.WithSpeed(1000)}, opts...)...)
	t.Cleanup(srv.Close)
	rec := &recorder{next: http.DefaultTransport}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithHTTPClient(&http.Client{Transport: rec}),
		workspace.WithRetry(func(o *retry.Options) {
			fastRetry(o)
			if sleep != nil {
				o.Sleep = sleep
			}
		}), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, rec: rec, core: core, s: settings.New(core, srv.Domain())}
}

func ptr[T any](v T) *T { return &v }

// newCert makes a self-signed certificate for key, in PEM and DER.
func newCert(t testing.TB, key any) (pemData, der []byte) {
	t.Helper()
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "idp.example.org"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), der
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func keys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return rsaKey, ecKey
}

var (
	dsaOnce sync.Once
	dsaDER  []byte
)

// dsaCert returns a certificate (DER) whose subject key is DSA (1024
// bits). crypto/x509 cannot create one, so an RSA certificate's
// SubjectPublicKeyInfo is swapped for a DSA one; the signature no longer
// matches, which parsing does not check.
func dsaCert(t testing.TB) []byte {
	t.Helper()
	dsaOnce.Do(func() {
		var k dsa.PrivateKey
		if err := dsa.GenerateParameters(&k.Parameters, rand.Reader, dsa.L1024N160); err != nil {
			panic(err)
		}
		if err := dsa.GenerateKey(&k, rand.Reader); err != nil {
			panic(err)
		}
		params, _ := asn1.Marshal(struct{ P, Q, G *big.Int }{k.P, k.Q, k.G})
		y, _ := asn1.Marshal(k.Y)
		spki, _ := asn1.Marshal(struct {
			Alg struct {
				OID    asn1.ObjectIdentifier
				Params asn1.RawValue
			}
			Key asn1.BitString
		}{Alg: struct {
			OID    asn1.ObjectIdentifier
			Params asn1.RawValue
		}{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, asn1.RawValue{FullBytes: params}},
			Key: asn1.BitString{Bytes: y, BitLength: 8 * len(y)}})
		rk, _ := keys(t)
		_, der := newCert(t, rk)
		var cert struct {
			TBS    asn1.RawValue
			SigAlg asn1.RawValue
			Sig    asn1.BitString
		}
		if _, err := asn1.Unmarshal(der, &cert); err != nil {
			panic(err)
		}
		var fields [][]byte
		for rest := cert.TBS.Bytes; len(rest) > 0; {
			var v asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &v); err != nil {
				panic(err)
			}
			fields = append(fields, v.FullBytes)
		}
		fields[6] = spki // version, serial, signature, issuer, validity, subject, spki
		tbs, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(fields, nil)})
		cert.TBS = asn1.RawValue{FullBytes: tbs}
		out, err := asn1.Marshal(cert)
		if err != nil {
			panic(err)
		}
		dsaDER = out
	})
	return dsaDER
}
