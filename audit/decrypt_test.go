package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
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
	run := gnupg(t)
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

// gnupg returns a function running the gpg binary in batch mode on a
// temporary home directory (removed, with its agent, at the end of the
// test). Without gpg on PATH the test is skipped, or fails when
// WORKSPACE_REQUIRE_GPG=1 (as in CI).
func gnupg(t *testing.T) func(stdin []byte, args ...string) []byte {
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
	return func(stdin []byte, args ...string) []byte {
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
}

// testMbox is an mbox of about n bytes that compresses about as well as
// mail does.
func testMbox(n int) []byte {
	var b bytes.Buffer
	x := uint32(1)
	for i := 0; b.Len() < n; i++ {
		if i%50 == 0 {
			fmt.Fprintf(&b, "From MAILER-DAEMON Mon Jan  5 10:%02d:00 2026\nSubject: message %d\n\n", i%60, i/50)
		}
		x = x*1664525 + 1013904223
		fmt.Fprintf(&b, "line %d of the body, %08x %08x, with ordinary words in it.\n", i, x, x*2654435761)
	}
	return b.Bytes()
}

// TestDecryptMatchesGnuPG encrypts an mbox with the gpg binary, binary
// and armored, with each compression algorithm gpg offers and without
// compression, and checks that DecryptFile's output equals gpg's own
// decryption of the same file, byte for byte.
func TestDecryptMatchesGnuPG(t *testing.T) {
	t.Parallel()
	run := gnupg(t)
	run(testKey(t).Private, "--import")
	want := testMbox(1500 << 10)
	dir := t.TempDir()
	mbox := filepath.Join(dir, "in.mbox")
	os.WriteFile(mbox, want, 0o600)
	messages := bytes.Count(want, []byte("\nFrom ")) + 1
	type variant struct {
		compress, cipher string
		armored          bool
	}
	var variants []variant
	for _, compress := range []string{"uncompressed", "zip", "zlib", "bzip2"} {
		for _, armored := range []bool{false, true} {
			variants = append(variants, variant{compress, "", armored})
		}
	}
	// Other session key ciphers: AES-128 and AES-192 through the fast
	// path, 3DES through go-crypto's own decryption.
	for _, c := range []string{"AES", "AES192", "3DES"} {
		variants = append(variants, variant{"uncompressed", c, false})
	}
	for _, v := range variants {
		compress, armored := v.compress, v.armored
		name := compress
		args := []string{"--trust-model", "always", "--recipient", "audit@example.com"}
		if v.cipher != "" {
			name += "-" + v.cipher
			args = append(args, "--cipher-algo", v.cipher)
		}
		if compress == "uncompressed" {
			args = append(args, "-z", "0")
		} else {
			args = append(args, "--compress-algo", compress)
		}
		if armored {
			name += "-armored"
			args = append(args, "--armor")
		}
		t.Run(name, func(t *testing.T) {
			enc := filepath.Join(dir, name+".gpg")
			run(nil, append(args, "--output", enc, "--encrypt", mbox)...)
			if packets := string(run(nil, "--list-packets", enc)); compress != "uncompressed" && !strings.Contains(packets, "compressed packet") ||
				compress == "uncompressed" && strings.Contains(packets, "compressed packet") {
				t.Fatalf("gpg did not encrypt as asked:\n%s", packets)
			}
			gpgOut := filepath.Join(dir, name+".gpg.mbox")
			run(nil, "--output", gpgOut, "--decrypt", enc)
			ours := filepath.Join(dir, name+".mbox")
			res, err := DecryptFile(t.Context(), ours, enc, testPrivate(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(gpgOut)
			b, _ := os.ReadFile(ours)
			if !bytes.Equal(a, b) || !bytes.Equal(b, want) {
				t.Fatalf("outputs differ: gpg %d bytes, ours %d, mbox %d", len(a), len(b), len(want))
			}
			if res.Bytes != int64(len(want)) || res.Messages != messages {
				t.Errorf("result %+v, want %d bytes, %d messages", res, len(want), messages)
			}
		})
	}
}

// seipdOffset returns the offset of the first packet after the first
// one (the session key) in an OpenPGP message: where the encrypted data
// packet starts.
func seipdOffset(t *testing.T, data []byte) int {
	ctb := data[0]
	if ctb&0x40 != 0 { // new format
		switch l := data[1]; {
		case l < 192:
			return 2 + int(l)
		case l < 224:
			return 3 + (int(l)-192)<<8 + int(data[2]) + 192
		case l == 255:
			return 6 + int(data[2])<<24 | int(data[3])<<16 | int(data[4])<<8 | int(data[5])
		}
	} else {
		switch ctb & 3 {
		case 0:
			return 2 + int(data[1])
		case 1:
			return 3 + int(data[1])<<8 | int(data[2])
		}
	}
	t.Fatalf("unexpected session key packet header % x", data[:6])
	return 0
}

// TestDecryptFileTampered flips single bytes at the start, in the middle
// and at the end of the encrypted data, and cuts files short, compressed
// and not: every one fails with an *IntegrityError (or, for the session
// key packet, a *WrongKeyError), and DecryptFile leaves no file behind.
func TestDecryptFileTampered(t *testing.T) {
	t.Parallel()
	plain := testMbox(1500 << 10) // several pipeline chunks
	for _, compressed := range []bool{false, true} {
		cfg := &packet.Config{}
		name := "uncompressed"
		if compressed {
			cfg.DefaultCompressionAlgo, name = packet.CompressionZLIB, "zlib"
		}
		var buf bytes.Buffer
		w, err := openpgp.Encrypt(&buf, openpgp.EntityList{testKey(t).Entity}, nil, &openpgp.FileHints{IsBinary: true}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		se := seipdOffset(t, data)
		dir := t.TempDir()
		src := filepath.Join(dir, "in.gpg")
		os.WriteFile(src, data, 0o600)
		out := filepath.Join(dir, "out.mbox")
		res, err := DecryptFile(t.Context(), out, src, testPrivate(t), nil)
		if got, _ := os.ReadFile(out); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: intact file: %v, %+v", name, err, res)
		}
		os.Remove(out)
		type damage struct {
			what string
			data []byte
		}
		flip := func(what string, at int) damage {
			d := bytes.Clone(data)
			d[at] ^= 0x10
			return damage{fmt.Sprintf("byte %d (%s) flipped", at, what), d}
		}
		cases := []damage{
			flip("encrypted prefix", se+8),
			flip("quick check", se+3+16),
			flip("first data bytes", se+3+20),
			flip("middle", len(data)/2),
			flip("MDC tag", len(data)-22),
			flip("MDC hash", len(data)-10),
			flip("last byte", len(data)-1),
			{"cut in the middle", data[:len(data)/2]},
			{"cut by one byte", data[:len(data)-1]},
			{"cut by the MDC", data[:len(data)-22]},
			{"cut after the prefix", data[:se+30]},
		}
		for _, c := range cases {
			os.WriteFile(src, c.data, 0o600)
			_, err := DecryptFile(t.Context(), out, src, testPrivate(t), nil)
			var ie *IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, ErrIntegrity) {
				t.Errorf("%s, %s: err = %v, want an *IntegrityError", name, c.what, err)
			}
			if m, _ := filepath.Glob(out + "*"); len(m) != 0 {
				t.Errorf("%s, %s: left behind %v", name, c.what, m)
			}
			// The streaming form reports it too.
			if _, err := Decrypt(t.Context(), io.Discard, bytes.NewReader(c.data), testPrivate(t), nil); !errors.Is(err, ErrIntegrity) {
				t.Errorf("%s, %s: Decrypt: %v", name, c.what, err)
			}
		}
		// A damaged session key packet: refused with a typed error.
		bad := bytes.Clone(data)
		bad[se/2] ^= 0x10
		os.WriteFile(src, bad, 0o600)
		if _, err := DecryptFile(t.Context(), out, src, testPrivate(t), nil); !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s, session key damaged: %v", name, err)
		}
		if m, _ := filepath.Glob(out + "*"); len(m) != 0 {
			t.Errorf("%s, session key damaged: left behind %v", name, m)
		}
	}
}

// TestDecryptFileSync: with NoSync the file is not flushed before the
// rename; the result is the same.
func TestDecryptFileSync(t *testing.T) {
	want := testMbox(100 << 10)
	dir := t.TempDir()
	src := filepath.Join(dir, "in.gpg")
	os.WriteFile(src, encryptTo(t, want), 0o600)
	out := filepath.Join(dir, "out.mbox")
	if _, err := DecryptFile(t.Context(), out, src, testPrivate(t), &DecryptOptions{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Error("output differs")
	}
}

type failingWriter struct {
	n   int
	err error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, f.err
	}
	f.n -= len(p)
	return len(p), nil
}

// TestDecryptWriteError: a failing destination stops the decryption with
// its own error, not an integrity error.
func TestDecryptWriteError(t *testing.T) {
	data := encryptTo(t, testMbox(3<<20))
	full := errors.New("disk full")
	_, err := Decrypt(t.Context(), &failingWriter{n: 1 << 20, err: full}, bytes.NewReader(data), testPrivate(t), nil)
	if !errors.Is(err, full) || errors.Is(err, ErrIntegrity) {
		t.Errorf("Decrypt: %v, want the write error", err)
	}
	// Through the asynchronous writer DecryptFile uses, the error comes
	// from Write or at the latest from Close.
	aw := newAsyncWriter(&failingWriter{n: 1 << 20, err: full}, writeChunkSize, writeChunks)
	_, err = Decrypt(t.Context(), aw, bytes.NewReader(data), testPrivate(t), nil)
	if cerr := aw.Close(); !errors.Is(cerr, full) {
		t.Errorf("Close: %v", cerr)
	}
	if err != nil && !errors.Is(err, full) {
		t.Errorf("Decrypt through asyncWriter: %v", err)
	}
}

// TestMboxCounterRandom compares the counter, fed in random pieces, with
// a plain count of the lines that start with "From ".
func TestMboxCounterRandom(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(1, 2))
	parts := []string{"From ", "From", "Fro", "F", "\n", ">From ", " From ", "x", "rom ", "m ", "\nFrom x\n", "FFrom "}
	for range 2000 {
		var b strings.Builder
		for range rnd.IntN(30) {
			b.WriteString(parts[rnd.IntN(len(parts))])
		}
		text := b.String()
		want := 0
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "From ") {
				want++
			}
		}
		c := &mboxCounter{w: io.Discard}
		for p := text; len(p) > 0; {
			k := 1 + rnd.IntN(len(p))
			c.Write([]byte(p[:k]))
			p = p[k:]
		}
		if c.n != want {
			t.Fatalf("%q: counted %d, want %d", text, c.n, want)
		}
	}
}

// TestDecryptSignedCompressed: a signed message (one-pass signature,
// literal data, signature, all compressed) decrypts to its literal data;
// the signature packet after it is read by the integrity check, with the
// decompressing goroutine stopped first.
func TestDecryptSignedCompressed(t *testing.T) {
	want := testMbox(1 << 20)
	for range 3 {
		var buf bytes.Buffer
		w, err := openpgp.Encrypt(&buf, openpgp.EntityList{testKey(t).Entity}, testPrivate(t)[0], &openpgp.FileHints{IsBinary: true}, &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(want)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, err := Decrypt(t.Context(), &out, bytes.NewReader(buf.Bytes()), testPrivate(t), nil); err != nil || !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("signed: %v, equal %v", err, bytes.Equal(out.Bytes(), want))
		}
		dir := t.TempDir()
		src := filepath.Join(dir, "in.gpg")
		bad := buf.Bytes()
		bad[len(bad)-40] ^= 1 // in the signature packet, near the end
		os.WriteFile(src, bad, 0o600)
		if _, err := DecryptFile(t.Context(), filepath.Join(dir, "out.mbox"), src, testPrivate(t), nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("signed, tampered after the literal data: %v", err)
		}
	}
}
