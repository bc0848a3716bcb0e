package audit

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
)

// TestECBMatchesCryptoAES checks the multi-block encryption (AES-NI
// assembly on amd64) against crypto/aes for every key size.
func TestECBMatchesCryptoAES(t *testing.T) {
	for _, size := range []int{16, 24, 32} {
		key := make([]byte, size)
		rand.Read(key)
		ecb := ecbFunc(key)
		if ecb == nil {
			t.Skip("no multi-block AES on this machine")
		}
		b, _ := aes.NewCipher(key)
		for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 100} {
			src := make([]byte, 16*n)
			rand.Read(src)
			got := make([]byte, 16*n+16)
			ecb(got, src)
			want := make([]byte, 16*n+16)
			for i := 0; i < n; i++ {
				b.Encrypt(want[16*i:], src[16*i:])
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("key %d bytes, %d blocks: differs from crypto/aes", size, n)
			}
		}
	}
}

// TestCFBDecrypterMatchesBlockByBlock: the CFB decrypter, with each of
// its multi-block paths (VAES, AES-NI, crypto/aes), decrypts as CFB block
// by block with crypto/aes does, for every key size, stream lengths on and
// off block boundaries and calls of every size.
func TestCFBDecrypterMatchesBlockByBlock(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for _, size := range []int{16, 24, 32} {
		key := make([]byte, size)
		rand.Read(key)
		b, _ := aes.NewCipher(key)
		paths := map[string]*cfbDecrypter{"crypto/aes": {b: b}}
		if f := ecbFunc(key); f != nil {
			paths["AES-NI"] = &cfbDecrypter{b: b, ecb: f}
		}
		if f := cfbFunc(key); f != nil {
			paths["VAES"] = &cfbDecrypter{b: b, cfb: f}
		}
		for _, n := range []int{0, 1, 15, 16, 17, 31 * 16, 32 * 16, 33*16 + 5, 64*16 + 1, 100_003} {
			ct := make([]byte, n)
			rand.Read(ct)
			want := make([]byte, n)
			var iv, ks [16]byte
			for i := 0; i < n; i += 16 {
				b.Encrypt(ks[:], iv[:])
				end := min(i+16, n)
				subtle.XORBytes(want[i:end], ct[i:end], ks[:])
				copy(iv[:], ct[i:end])
			}
			for name, proto := range paths {
				d := *proto
				got := make([]byte, n)
				// Calls of whole blocks of random sizes, the rest last.
				for off := 0; off < n; {
					k := min(16*rng.IntN(80), n-off)
					if k < n-off && k%16 != 0 || k == 0 {
						k = n - off
					}
					d.decrypt(got[off:off+k], ct[off:off+k])
					off += k
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s, key %d bytes, %d bytes: differs from CFB with crypto/aes", name, size, n)
				}
			}
		}
	}
}

// sealSEIPD makes the contents of a version 1 SEIPD packet (after the
// version byte) for plaintext, with the MDC, by OpenPGP CFB without
// resynchronisation, block by block with crypto/aes.
func sealSEIPD(t testing.TB, key, plaintext []byte) []byte {
	prefix := make([]byte, 18)
	rand.Read(prefix[:16])
	prefix[16], prefix[17] = prefix[14], prefix[15]
	h := sha1.New()
	h.Write(prefix)
	h.Write(plaintext)
	h.Write([]byte{0xD3, 0x14})
	pt := append(append(append([]byte{}, prefix...), plaintext...), 0xD3, 0x14)
	pt = h.Sum(pt)
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(pt))
	iv := make([]byte, 16)
	var ks [16]byte
	for i := 0; i < len(pt); i += 16 {
		b.Encrypt(ks[:], iv)
		end := min(i+16, len(pt))
		subtle.XORBytes(ct[i:end], pt[i:end], ks[:])
		iv = ct[i:end]
	}
	return ct
}

// jerkyReader returns reads of random sizes.
type jerkyReader struct {
	r   io.Reader
	rnd *mrand.Rand
}

func (j *jerkyReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+j.rnd.IntN(min(len(p), 70000))]
	}
	return j.r.Read(p)
}

func openTestSEIPD(key, ct []byte, jerky bool) *seipdReader {
	b, _ := aes.NewCipher(key)
	var r io.Reader = bytes.NewReader(ct)
	if jerky {
		r = &jerkyReader{r: r, rnd: mrand.New(mrand.NewPCG(uint64(len(ct)), 1))}
	}
	return newSEIPDReader(r, b, key)
}

// TestSEIPDReaderLengths decrypts packets of lengths around the chunk
// size, where the held-back MDC straddles chunks.
func TestSEIPDReaderLengths(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	t.Parallel()
	var lengths []int
	for n := 0; n < 50; n++ {
		lengths = append(lengths, n)
	}
	// The stream is 18 bytes of prefix, the plaintext and 22 of MDC: put
	// its end just before, at and after chunk ends, so that the MDC is
	// split between chunks in every way.
	for _, base := range []int{cfbChunk, 2 * cfbChunk} {
		for _, d := range []int{-23, -22, -21, -1, 0, 1, 2, 10, 21, 22, 23, 40} {
			lengths = append(lengths, base-40+d)
		}
	}
	plain := make([]byte, 2*cfbChunk+10)
	rand.Read(plain)
	for i, n := range lengths {
		ct := sealSEIPD(t, key, plain[:n])
		r := openTestSEIPD(key, ct, i%2 == 1)
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, plain[:n]) {
			t.Fatalf("length %d: %v, %d bytes back, equal %v", n, err, len(got), bytes.Equal(got, plain[:n]))
		}
		if err := r.finish(); err != nil {
			t.Fatalf("length %d: finish: %v", n, err)
		}
	}
}

// TestSEIPDReaderTampering flips every bit position class that matters:
// prefix, quick-check bytes, body, MDC header and hash, and cuts the
// packet short; each must end in ErrMDCHashMismatch rather than io.EOF.
func TestSEIPDReaderTampering(t *testing.T) {
	t.Parallel()
	key := make([]byte, 16)
	rand.Read(key)
	plain := bytes.Repeat([]byte(sampleMbox), 9000) // ~3 chunks
	ct := sealSEIPD(t, key, plain)
	for _, pos := range []int{0, 15, 16, 17, 18, 100, cfbChunk - 1, cfbChunk, len(ct) / 2, len(ct) - 23, len(ct) - 22, len(ct) - 21, len(ct) - 1} {
		bad := bytes.Clone(ct)
		bad[pos] ^= 0x40
		r := openTestSEIPD(key, bad, false)
		_, err := io.ReadAll(r)
		if !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
			t.Errorf("byte %d flipped: read error %v", pos, err)
		}
		if err := r.finish(); !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
			t.Errorf("byte %d flipped: finish %v", pos, err)
		}
	}
	for _, n := range []int{0, 10, 39, 40, cfbChunk, len(ct) - 1} {
		r := openTestSEIPD(key, ct[:n], false)
		if _, err := io.ReadAll(r); err == nil {
			t.Errorf("cut to %d bytes: no error", n)
		}
		if err := r.finish(); !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
			t.Errorf("cut to %d bytes: finish %v", n, err)
		}
	}
	// A wrong key fails the same way.
	other := make([]byte, 16)
	rand.Read(other)
	if err := openTestSEIPD(other, ct, false).finish(); !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
		t.Errorf("wrong key: %v", err)
	}
	// Stopping early does not hang.
	r := openTestSEIPD(key, ct, false)
	r.Read(make([]byte, 10))
	r.stop()
	r.stop()
}

// TestSEIPDReaderReadError passes a source's error on.
func TestSEIPDReaderReadError(t *testing.T) {
	key := make([]byte, 16)
	b, _ := aes.NewCipher(key)
	boom := errors.New("boom")
	r := newSEIPDReader(io.MultiReader(bytes.NewReader(make([]byte, 3*cfbChunk/2)), &errReader{boom}), b, key)
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Errorf("read: %v", err)
	}
	if err := r.finish(); !errors.Is(err, pgperrors.ErrMDCHashMismatch) {
		t.Errorf("finish: %v", err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }
