package audit

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// deflateCorpus is data of several kinds: mbox text, random bytes, runs.
func deflateCorpus() map[string][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var runs []byte
	for len(runs) < 1<<20 {
		runs = append(runs, bytes.Repeat([]byte{byte(rng.IntN(4))}, 1+rng.IntN(600))...)
	}
	var mixed []byte
	for len(mixed) < 1<<20 {
		switch rng.IntN(3) {
		case 0:
			mixed = append(mixed, random[:rng.IntN(2000)]...)
		case 1:
			k := rng.IntN(len(mixed) + 1)
			mixed = append(mixed, mixed[k:min(len(mixed), k+rng.IntN(5000))]...)
		default:
			mixed = append(mixed, testMbox(rng.IntN(4000))...)
		}
	}
	return map[string][]byte{
		"empty":  nil,
		"one":    {'x'},
		"mbox":   testMbox(3 << 20),
		"random": random,
		"runs":   runs,
		"mixed":  mixed,
	}
}

func deflateBytes(t testing.TB, data []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	// Several flushes: stored blocks, byte-aligned ends of blocks.
	for p := data; len(p) > 0; {
		k := min(len(p), 100_000)
		w.Write(p[:k])
		if len(p)%3 == 0 {
			w.Flush()
		}
		p = p[k:]
	}
	w.Close()
	return buf.Bytes()
}

// inflateAll decodes stream with inflateReader, read in pieces of the
// given size, through a bufio.Reader of bufSize over src, and returns
// what follows the stream in src.
func inflateAll(stream []byte, tail []byte, piece, bufSize int) ([]byte, []byte, error) {
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(stream), bytes.NewReader(tail)), bufSize)
	f := newInflateReader(br)
	var out []byte
	buf := make([]byte, piece)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			rest, _ := io.ReadAll(br)
			return out, rest, nil
		}
		if err != nil {
			return out, nil, err
		}
	}
}

// TestInflateMatchesCompressFlate: streams written by compress/flate at
// every level (stored, Huffman only, fixed and dynamic blocks, flushes)
// decode to the data, read in pieces of various sizes, and the bytes after
// the stream are left in the reader.
func TestInflateMatchesCompressFlate(t *testing.T) {
	tail := []byte("\x01\x02\x03\x04 after the stream")
	for name, data := range deflateCorpus() {
		for _, level := range []int{flate.HuffmanOnly, 0, 1, 5, 6, 9} {
			stream := deflateBytes(t, data, level)
			for _, c := range []struct{ piece, buf int }{{1 << 20, 64 << 10}, {333, 16}, {7, 4096}} {
				if c.piece == 7 && len(data) > 1<<20 {
					continue
				}
				got, rest, err := inflateAll(stream, tail, c.piece, c.buf)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s, level %d, pieces %d, buffer %d: %v, %d bytes (want %d), equal %v", name, level, c.piece, c.buf, err, len(got), len(data), bytes.Equal(got, data))
				}
				if !bytes.Equal(rest, tail) {
					t.Fatalf("%s, level %d: left %q after the stream, want %q", name, level, rest, tail)
				}
			}
		}
	}
}

// TestInflateCorrupt: damaged and cut streams fail (never panic), and when
// compress/flate accepts a damaged stream, the output is the same.
func TestInflateCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	corpus := deflateCorpus()
	for _, name := range []string{"mbox", "mixed", "runs", "one"} {
		for _, level := range []int{1, 6, flate.HuffmanOnly} {
			stream := deflateBytes(t, corpus[name][:min(len(corpus[name]), 200<<10)], level)
			for i := range 300 {
				s := bytes.Clone(stream)
				switch i % 3 {
				case 0:
					s[rng.IntN(len(s))] ^= byte(1 << rng.IntN(8))
				case 1:
					s = s[:rng.IntN(len(s))]
				default:
					for range 4 {
						s[rng.IntN(len(s))] = byte(rng.Uint32())
					}
				}
				got, _, err := inflateAll(s, nil, 64<<10, 4096)
				want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(s)))
				if werr == nil && err == nil && !bytes.Equal(got, want) {
					t.Fatalf("%s level %d case %d: accepted with other output than compress/flate", name, level, i)
				}
				if werr != nil && err == nil {
					t.Fatalf("%s level %d case %d: accepted a stream compress/flate rejects (%v)", name, level, i, werr)
				}
				if err != nil && werr == nil {
					t.Fatalf("%s level %d case %d: rejected (%v) a stream compress/flate accepts", name, level, i, err)
				}
				if i%3 == 1 && err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
					var de deflateError
					if !errors.As(err, &de) {
						t.Fatalf("%s level %d case %d: cut stream gave %v", name, level, i, err)
					}
				}
			}
		}
	}
}

func BenchmarkInflate(b *testing.B) {
	data := testMbox(64 << 20)
	stream := deflateBytes(b, data, 6)
	buf := make([]byte, 1<<20)
	b.Run("audit", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			f := newInflateReader(bufio.NewReaderSize(bytes.NewReader(stream), 64<<10))
			io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
		}
	})
}

func BenchmarkInflateKlauspost(b *testing.B) {
	data := testMbox(64 << 20)
	stream := deflateBytes(b, data, 6)
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f := kflate.NewReader(bufio.NewReaderSize(bytes.NewReader(stream), 64<<10))
		io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
	}
}

// FuzzInflate: any input decodes as compress/flate decodes it, or fails
// where it fails, without panicking.
func FuzzInflate(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	random := make([]byte, 3000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, data := range [][]byte{nil, []byte("x"), testMbox(5000), random, bytes.Repeat([]byte("ab"), 2000)} {
		for _, level := range []int{flate.HuffmanOnly, 0, 1, 9} {
			f.Add(deflateBytes(f, data, level))
		}
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		const limit = 1 << 20
		br := bufio.NewReaderSize(bytes.NewReader(s), 16)
		got, err := io.ReadAll(io.LimitReader(struct{ io.Reader }{newInflateReader(br)}, limit))
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(s)), limit))
		if len(got) == limit || len(want) == limit {
			n := min(len(got), len(want))
			if !bytes.Equal(got[:n], want[:n]) {
				t.Fatalf("output differs from compress/flate")
			}
			return
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("error %v, compress/flate's %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("output differs from compress/flate")
		}
	})
}
