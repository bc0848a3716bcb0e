package audit

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32MatchesStdlib: adler32Update (AVX2 where there is) and
// adler32Bytes (the byte-by-byte path) give hash/adler32's checksums, for
// every length up to a few blocks of adlerNMax, split anywhere, and for
// the worst case of the sums' growth (all bytes 0xFF, from the largest
// sums).
func TestAdler32MatchesStdlib(t *testing.T) {
	if !useAdler32AVX2 {
		t.Log("no AVX2 on this machine: adler32Update adds byte by byte")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 3*adlerNMax+100)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	ones := bytes.Repeat([]byte{0xFF}, 200_000)
	for _, f := range []struct {
		name   string
		update func(uint32, []byte) uint32
	}{{"adler32Update", adler32Update}, {"adler32Bytes", adler32Bytes}} {
		name, update := f.name, f.update
		for _, data := range [][]byte{random, ones} {
			for n := 0; n <= len(random); n += 1 + n/64 {
				p := data[:n]
				want := adler32.Checksum(p)
				if got := update(1, p); got != want {
					t.Fatalf("%s, %d bytes: %08x, want %08x", name, n, got, want)
				}
				// The same in two calls, split at a random place, the
				// second one unaligned.
				k := 0
				if n > 0 {
					k = rng.IntN(n)
				}
				if got := update(update(1, p[:k]), p[k:]); got != want {
					t.Fatalf("%s, %d bytes split at %d: %08x, want %08x", name, n, k, got, want)
				}
			}
			// Long: many adlerVecMax blocks, sums near their bounds.
			if got, want := update(1, data), adler32.Checksum(data); got != want {
				t.Fatalf("%s, %d bytes: %08x, want %08x", name, len(data), got, want)
			}
		}
		if got, want := update(1, ones), adler32.Checksum(ones); got != want {
			t.Fatalf("%s, %d bytes of 0xFF: %08x, want %08x", name, len(ones), got, want)
		}
		// From a state with both sums at their largest (65520).
		st := uint32(65520)<<16 | 65520
		if got, want := update(st, ones[:adlerNMax]), adler32Ref(st, ones[:adlerNMax]); got != want {
			t.Fatalf("%s, from %08x: %08x, want %08x", name, st, got, want)
		}
	}
}

// adler32Ref is the definition, byte by byte, reducing at every step.
func adler32Ref(adler uint32, p []byte) uint32 {
	s1, s2 := adler&0xffff, adler>>16
	for _, c := range p {
		s1 = (s1 + uint32(c)) % adlerMod
		s2 = (s2 + s1) % adlerMod
	}
	return s2<<16 | s1
}

func BenchmarkAdler32(b *testing.B) {
	p := make([]byte, 256<<10)
	for i := range p {
		p[i] = byte(i * 7)
	}
	b.Run("audit", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adler32Update(1, p)
		}
	})
	b.Run("hash/adler32", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
}
