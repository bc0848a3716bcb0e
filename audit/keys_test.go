package audit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/gwsadmin/workspace"
)

func armorPublic(t *testing.T, ents ...*openpgp.Entity) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return b.Bytes()
}

func TestPublicKeyRefusedBeforeUpload(t *testing.T) {
	e := newEnv(t)
	kp := testKey(t)
	now := start.Add(-time.Minute)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return now }}
	ecc, err := openpgp.NewEntity("Ecc", "", "ecc@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A second user id on a copy of the RSA key.
	two := testPrivate(t)[0]
	if err := two.AddUserId("Second", "", "second@example.com", &packet.Config{Time: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	other := testPrivate(t)[0]
	var priv bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	_ = other.SerializePrivateWithoutSigning(w, nil)
	w.Close()
	tests := []struct {
		name, key, want string
	}{
		{"empty", "", "empty"},
		{"not armored", "hello", "not an ASCII-armored"},
		{"non-ASCII", strings.Replace(string(kp.Public), "\n", "\né\n", 1), "US-ASCII"},
		{"private key", priv.String(), "private key"},
		{"ECC", string(armorPublic(t, ecc)), "not RSA"},
		{"two user ids", string(armorPublic(t, two)), "2 user ids"},
		{"two keys", string(armorPublic(t, testPrivate(t)[0], ecc)), "2 keys"},
		{"base64 already", base64.StdEncoding.EncodeToString(kp.Public), "not an ASCII-armored"},
	}
	for _, tt := range tests {
		before := e.sent.n.Load()
		_, err := e.a.PublicKey.Upload(t.Context(), []byte(tt.key))
		var ie *workspace.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want an InputError mentioning %q", tt.name, err, tt.want)
		}
		if e.sent.n.Load() != before {
			t.Errorf("%s: a request was sent", tt.name)
		}
	}
	if e.srv.AuditPublicKey() != "" {
		t.Error("the server has a key")
	}
	// The good key goes up as the base64 of the armored block.
	if _, err := e.a.PublicKey.Upload(t.Context(), kp.Public); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.AuditPublicKey(); got != base64.StdEncoding.EncodeToString(kp.Public) {
		t.Errorf("server holds %q", got)
	}
}

func TestGenerateKeyFiles(t *testing.T) {
	kp := testKey(t)
	if _, err := ValidatePublicKey(kp.Public, time.Now()); err != nil {
		t.Fatalf("generated key refused: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.key")
	if err := kp.WritePrivateKey(p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if err := kp.WritePrivateKey(p); err == nil {
		t.Error("an existing private key was overwritten")
	}
	keys, err := ReadPrivateKeyFile(p)
	if err != nil || len(keys) != 1 || keys[0].PrivateKey == nil {
		t.Fatalf("read back: %v", err)
	}
	pub := filepath.Join(dir, "audit.pub")
	if err := kp.WritePublicKey(pub); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivateKeyFile(pub); err == nil {
		t.Error("a public key was read as a private key")
	}
	if _, err := GenerateKey("example.com", &KeyOptions{Bits: 1024}); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("1024 bits: %v", err)
	}
}
