package audit

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

const sampleMbox = "From MAILER-DAEMON Mon Jan  5 10:00:00 2026\nSubject: one\n\n>From quoted\nbody\n\nFrom MAILER-DAEMON Mon Jan  5 11:00:00 2026\nSubject: two\n\nFrom-not-a-separator\n\n"

func TestDecryptWrongKey(t *testing.T) {
	data := encryptTo(t, []byte(sampleMbox))
	now := start.Add(-time.Minute)
	other, err := openpgp.NewEntity("Other", "", "other@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decrypt(t.Context(), &bytes.Buffer{}, bytes.NewReader(data), openpgp.EntityList{other}, nil)
	var wk *WrongKeyError
	if !errors.As(err, &wk) || !errors.Is(err, ErrWrongKey) {
		t.Fatalf("err = %v, want a WrongKeyError", err)
	}
	sub := testKey(t).Entity.Subkeys[0].PublicKey.KeyIdString()
	if len(wk.Recipients) != 1 || wk.Recipients[0] != sub || len(wk.Have) == 0 {
		t.Errorf("WrongKeyError %+v, want recipient %s", wk, sub)
	}
	if !strings.Contains(err.Error(), sub) {
		t.Errorf("message does not name the key: %v", err)
	}
}

func TestDecryptPassphrase(t *testing.T) {
	data := encryptTo(t, []byte(sampleMbox))
	locked := func() openpgp.EntityList {
		keys := testPrivate(t)
		if err := keys[0].EncryptPrivateKeys([]byte("correct horse"), nil); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	// No passphrase function.
	if _, err := Decrypt(t.Context(), &bytes.Buffer{}, bytes.NewReader(data), locked(), nil); !errors.Is(err, ErrPassphraseRequired) {
		t.Errorf("no passphrase: %v", err)
	}
	// Wrong, three times.
	asked := 0
	_, err := Decrypt(t.Context(), &bytes.Buffer{}, bytes.NewReader(data), locked(), &DecryptOptions{
		Passphrase: func() ([]byte, error) { asked++; return []byte("wrong"), nil }})
	if !errors.Is(err, ErrWrongPassphrase) || asked != 3 {
		t.Errorf("wrong passphrase: %v after %d prompts", err, asked)
	}
	// Wrong once, then right; the key stays unlocked for the next file.
	asked = 0
	keys := locked()
	opts := &DecryptOptions{Passphrase: func() ([]byte, error) {
		asked++
		if asked == 1 {
			return []byte("typo"), nil
		}
		return []byte("correct horse"), nil
	}}
	for range 2 {
		var out bytes.Buffer
		res, err := Decrypt(t.Context(), &out, bytes.NewReader(data), keys, opts)
		if err != nil || out.String() != sampleMbox || res.Messages != 2 {
			t.Fatalf("decrypt: %v, %d messages, %q", err, res.Messages, out.String())
		}
	}
	if asked != 2 {
		t.Errorf("asked %d times, want 2", asked)
	}
}

func TestDecryptIntegrityAndArmor(t *testing.T) {
	data := encryptTo(t, bytes.Repeat([]byte(sampleMbox), 100))
	bad := bytes.Clone(data)
	bad[len(bad)-30] ^= 0x01
	_, err := Decrypt(t.Context(), &bytes.Buffer{}, bytes.NewReader(bad), testPrivate(t), nil)
	if !errors.Is(err, ErrIntegrity) {
		t.Errorf("tampered: %v", err)
	}
	_, err = Decrypt(t.Context(), &bytes.Buffer{}, bytes.NewReader(data[:len(data)/2]), testPrivate(t), nil)
	if !errors.Is(err, ErrIntegrity) {
		t.Errorf("truncated: %v", err)
	}
	// DecryptFile leaves no output behind on failure.
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.gpg")
	os.WriteFile(src, bad, 0o600)
	if _, err := DecryptFile(t.Context(), filepath.Join(dir, "bad.mbox"), src, testPrivate(t), nil); err == nil {
		t.Error("DecryptFile accepted a tampered file")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "bad.mbox*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	// Armored input.
	var arm bytes.Buffer
	w, _ := armor.Encode(&arm, "PGP MESSAGE", nil)
	w.Write(data)
	w.Close()
	var out bytes.Buffer
	res, err := Decrypt(t.Context(), &out, &arm, testPrivate(t), nil)
	if err != nil || res.Messages != 200 || out.Len() != 100*len(sampleMbox) {
		t.Errorf("armored: %v %+v", err, res)
	}
	// A cancelled context stops.
	ctx, cancel := contextWithCancel(t)
	cancel()
	if _, err := Decrypt(ctx, &bytes.Buffer{}, bytes.NewReader(data), testPrivate(t), nil); err == nil {
		t.Error("cancelled decrypt succeeded")
	}
}

func TestMboxCounterChunks(t *testing.T) {
	text := "From a\nx\nFrom b\n>From c\n From d\nFrom\nFro\nFrom e\n"
	for size := 1; size <= len(text); size++ {
		c := &mboxCounter{w: &bytes.Buffer{}}
		for i := 0; i < len(text); i += size {
			c.Write([]byte(text[i:min(i+size, len(text))]))
		}
		if c.n != 3 {
			t.Errorf("chunk %d: %d messages, want 3", size, c.n)
		}
	}
}

// TestDecryptGnuPG decrypts files that GnuPG itself encrypted: to a key
// GnuPG generated (exported with its passphrase protection) and to a key
// this package generated. It runs when gpg is on PATH, and fails instead
// of skipping when WORKSPACE_REQUIRE_GPG=1.
func TestDecryptGnuPG(t *testing.T) {
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		if os.Getenv("WORKSPACE_REQUIRE_GPG") == "1" {
			t.Fatal("gpg is not on PATH and WORKSPACE_REQUIRE_GPG=1")
		}
		t.Skip("gpg not on PATH")
	}
	home, err := os.MkdirTemp("", "gnupg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	os.Chmod(home, 0o700)
	run := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), gpg, append([]string{"--homedir", home, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	dir := t.TempDir()
	mbox := filepath.Join(dir, "in.mbox")
	os.WriteFile(mbox, []byte(strings.Repeat(sampleMbox, 50)), 0o600)

	// 1. A key GnuPG generated, protected by a passphrase.
	run([]byte("Key-Type: RSA\nKey-Length: 2048\nSubkey-Type: RSA\nSubkey-Length: 2048\nName-Real: Audit GnuPG\nName-Email: gpg@example.com\nExpire-Date: 0\nPassphrase: s3cret\n%commit\n"), "--gen-key")
	secret := run(nil, "--passphrase", "s3cret", "--armor", "--export-secret-keys", "gpg@example.com")
	pub := run(nil, "--armor", "--export", "gpg@example.com")
	if _, err := ValidatePublicKey(pub, time.Now().Add(time.Minute)); err != nil {
		t.Errorf("a GnuPG RSA key is refused: %v", err)
	}
	enc := filepath.Join(dir, "gpg.mbox.gpg")
	run(nil, "--trust-model", "always", "--recipient", "gpg@example.com", "--output", enc, "--encrypt", mbox)
	keys, err := ReadPrivateKey(bytes.NewReader(secret))
	if err != nil {
		t.Fatal(err)
	}
	res, err := DecryptFile(t.Context(), filepath.Join(dir, "gpg.mbox"), enc, keys, &DecryptOptions{Passphrase: func() ([]byte, error) { return []byte("s3cret"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "gpg.mbox"))
	if string(got) != strings.Repeat(sampleMbox, 50) || res.Messages != 100 {
		t.Errorf("GnuPG-key file: %d messages, identical %v", res.Messages, string(got) == strings.Repeat(sampleMbox, 50))
	}

	// 2. Our generated key, imported into GnuPG, which encrypts (armored).
	run(testKey(t).Public, "--import")
	enc2 := filepath.Join(dir, "ours.mbox.asc")
	run(nil, "--trust-model", "always", "--armor", "--recipient", "audit@example.com", "--output", enc2, "--encrypt", mbox)
	res, err = DecryptFile(t.Context(), filepath.Join(dir, "ours.mbox"), enc2, testPrivate(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "ours.mbox"))
	if string(got) != strings.Repeat(sampleMbox, 50) || res.Messages != 100 {
		t.Errorf("generated-key file: %d messages", res.Messages)
	}
	// And the wrong key for GnuPG's file.
	if _, err := DecryptFile(t.Context(), filepath.Join(dir, "x.mbox"), enc, testPrivate(t), nil); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key on a GnuPG file: %v", err)
	}
}
