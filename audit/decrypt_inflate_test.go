package audit

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// encryptPackets encrypts the packet sequence plain (the plaintext of the
// integrity protected packet, as built by hand) to the test key with
// AES-256, as gpg does: session key packet, SEIPD v1 with its MDC.
func encryptPackets(t *testing.T, plain []byte) []byte {
	t.Helper()
	key, ok := testKey(t).Entity.EncryptionKey(time.Now())
	if !ok {
		t.Fatal("no encryption key")
	}
	sk := make([]byte, 32)
	rand.Read(sk)
	var buf bytes.Buffer
	if err := packet.SerializeEncryptedKey(&buf, key.PublicKey, packet.CipherAES256, sk, nil); err != nil {
		t.Fatal(err)
	}
	w, err := packet.SerializeSymmetricallyEncrypted(&buf, packet.CipherAES256, false, packet.CipherSuite{}, sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// literalPacket is a binary literal data packet holding data.
func literalPacket(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := packet.SerializeLiteral(nopWriteCloser{&buf}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Packet header forms of compressedPacket.
const (
	oldToEnd   = iota // old format, indeterminate length (what gpg writes)
	oldFour           // old format, four-octet length
	newFive           // new format, five-octet length
	newPartial        // new format, partial body lengths (what go-crypto writes)
)

// compressedPacket is a compressed data packet: algorithm algo, then
// stream, with a header of the given form.
func compressedPacket(algo byte, stream []byte, form int) []byte {
	body := append([]byte{algo}, stream...)
	n := len(body)
	var out []byte
	switch form {
	case oldToEnd:
		out = append(out, 0x80|packetTagCompressed<<2|3)
	case oldFour:
		out = append(out, 0x80|packetTagCompressed<<2|2, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case newFive:
		out = append(out, 0xC0|packetTagCompressed, 255, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	case newPartial:
		out = append(out, 0xC0|packetTagCompressed)
		for len(body) > 4096 {
			out = append(out, 224+12) // a part of 1<<12 bytes
			out, body = append(out, body[:4096]...), body[4096:]
		}
		n = len(body)
		out = append(out, 255, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, body...)
}

// deflateStream compresses data in two halves with a sync flush between
// them (raw deflate, or zlib when zlibFormat): it returns the stream and
// the offset of the flush's empty stored block (00 00 FF FF).
func deflateStream(t *testing.T, data []byte, zlibFormat bool) (stream []byte, flushAt int) {
	t.Helper()
	var buf bytes.Buffer
	type flushWriter interface {
		io.WriteCloser
		Flush() error
	}
	var w flushWriter
	if zlibFormat {
		w = zlib.NewWriter(&buf)
	} else {
		fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	}
	w.Write(data[:len(data)/2])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	flushAt = buf.Len() - 4
	if !bytes.Equal(buf.Bytes()[flushAt:], []byte{0, 0, 0xFF, 0xFF}) {
		t.Fatalf("no sync flush marker: % x", buf.Bytes()[flushAt:])
	}
	w.Write(data[len(data)/2:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), flushAt
}

// TestDecryptCompressedForms: ZIP, ZLIB and uncompressed compressed data
// packets, under every packet header form, decrypt to their literal data.
func TestDecryptCompressedForms(t *testing.T) {
	t.Parallel()
	want := testMbox(1500 << 10)
	lit := literalPacket(t, want)
	zipStream, _ := deflateStream(t, lit, false)
	zlibStream, _ := deflateStream(t, lit, true)
	streams := []struct {
		name   string
		algo   byte
		stream []byte
	}{{"uncompressed", 0, lit}, {"zip", 1, zipStream}, {"zlib", 2, zlibStream}}
	for _, s := range streams {
		for form, fname := range []string{"old format to the end", "old format four-octet length", "new format five-octet length", "new format partial lengths"} {
			data := encryptPackets(t, compressedPacket(s.algo, s.stream, form))
			var out bytes.Buffer
			res, err := Decrypt(t.Context(), &out, bytes.NewReader(data), testPrivate(t), nil)
			if err != nil || !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s, %s: %v, output equal: %v", s.name, fname, err, bytes.Equal(out.Bytes(), want))
				continue
			}
			if res.Bytes != int64(len(want)) || res.Messages != bytes.Count(want, []byte("\nFrom "))+1 {
				t.Errorf("%s, %s: %+v", s.name, fname, res)
			}
		}
	}
	// A literal data packet outside any compressed packet, hand built.
	var out bytes.Buffer
	if _, err := Decrypt(t.Context(), &out, bytes.NewReader(encryptPackets(t, lit)), testPrivate(t), nil); err != nil || !bytes.Equal(out.Bytes(), want) {
		t.Errorf("literal data only: %v", err)
	}
}

// TestDecryptCorruptCompressed: a compressed stream damaged before
// encryption, inside an intact integrity check (the MDC covers the damaged
// bytes), fails with an *IntegrityError, and DecryptFile leaves no file.
func TestDecryptCorruptCompressed(t *testing.T) {
	t.Parallel()
	want := testMbox(1500 << 10) // several read-ahead chunks on each side of the damage
	lit := literalPacket(t, want)
	type damaged struct {
		what   string
		algo   byte
		stream []byte
	}
	var cases []damaged
	for _, z := range []bool{false, true} {
		name, algo, hdr := "zip", byte(1), 0
		if z {
			name, algo, hdr = "zlib", 2, 2
		}
		stream, flushAt := deflateStream(t, lit, z)
		mod := func(what string, f func(s []byte) []byte) {
			cases = append(cases, damaged{name + ", " + what, algo, f(bytes.Clone(stream))})
		}
		// The intact stream first, to show the construction decrypts.
		cases = append(cases, damaged{name + ", intact", algo, stream})
		mod("reserved block type in the first block", func(s []byte) []byte { s[hdr] |= 0x06; return s })
		mod("stored block length check wrong in the middle", func(s []byte) []byte { s[flushAt+3] ^= 0x01; return s })
		mod("stream cut in the middle", func(s []byte) []byte { return s[:len(s)/2] })
		mod("stream cut by one byte", func(s []byte) []byte { return s[:len(s)-1] })
		if z {
			mod("Adler-32 wrong", func(s []byte) []byte { s[len(s)-2] ^= 0x01; return s })
			mod("zlib header check bits wrong", func(s []byte) []byte { s[1] ^= 0x01; return s })
			mod("byte in the middle flipped", func(s []byte) []byte { s[len(s)/2+7] ^= 0x20; return s })
			mod("Adler-32 cut off", func(s []byte) []byte { return s[:len(s)-4] })
			// 0x78 0xBB: check bits right, preset dictionary flag set.
			mod("preset dictionary", func(s []byte) []byte { s[0], s[1] = 0x78, 0xBB; return s })
			// 0x79 0x??: compression method 9, check bits right.
			mod("compression method not deflate", func(s []byte) []byte { s[0], s[1] = 0x79, 0x01+byte((31-(0x7901%31))%31); return s })
		}
	}
	cases = append(cases, damaged{"unknown algorithm", 9, lit})
	cases = append(cases, damaged{"empty zlib stream", 2, nil})
	dir := t.TempDir()
	for _, c := range cases {
		data := encryptPackets(t, compressedPacket(c.algo, c.stream, oldToEnd))
		src := filepath.Join(dir, "in.gpg")
		out := filepath.Join(dir, "out.mbox")
		os.WriteFile(src, data, 0o600)
		_, err := DecryptFile(t.Context(), out, src, testPrivate(t), nil)
		if bytes.HasSuffix([]byte(c.what), []byte("intact")) {
			if got, _ := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %v", c.what, err)
			}
			os.Remove(out)
			continue
		}
		var ie *IntegrityError
		if !errors.As(err, &ie) || !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v, want an *IntegrityError", c.what, err)
		}
		if m, _ := filepath.Glob(out + "*"); len(m) != 0 {
			t.Errorf("%s: left behind %v", c.what, m)
			os.Remove(out) // for the next case
		}
		if _, err := Decrypt(t.Context(), io.Discard, bytes.NewReader(data), testPrivate(t), nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: Decrypt: %v", c.what, err)
		}
	}
}

// TestReadPacketHeader: every header form, and headers cut short.
func TestReadPacketHeader(t *testing.T) {
	for _, c := range []struct {
		in               []byte
		tag              byte
		length           int64
		partial, toEnd   bool
		wantErr, wantEOF bool
	}{
		{in: []byte{0xA3}, tag: 8, toEnd: true},
		{in: []byte{0xA0, 0x10}, tag: 8, length: 16},
		{in: []byte{0xA1, 0x01, 0x02}, tag: 8, length: 0x102},
		{in: []byte{0xA2, 1, 2, 3, 4}, tag: 8, length: 0x01020304},
		{in: []byte{0xCB, 100}, tag: 11, length: 100},
		{in: []byte{0xCB, 192, 0}, tag: 11, length: 192},
		{in: []byte{0xCB, 223, 255}, tag: 11, length: 8383},
		{in: []byte{0xCB, 255, 0, 1, 0, 0}, tag: 11, length: 65536},
		{in: []byte{0xCB, 224 + 9}, tag: 11, length: 512, partial: true},
		{in: nil, wantEOF: true},
		{in: []byte{0x0B}, wantErr: true},
		{in: []byte{0xA2, 1, 2}, wantErr: true},
		{in: []byte{0xCB, 255, 0}, wantErr: true},
		{in: []byte{0xCB}, wantErr: true},
	} {
		h, err := readPacketHeader(bytes.NewReader(c.in))
		switch {
		case c.wantEOF:
			if err != io.EOF {
				t.Errorf("% x: %v, want io.EOF", c.in, err)
			}
		case c.wantErr:
			if err == nil || err == io.EOF {
				t.Errorf("% x: %v, want an error", c.in, err)
			}
		case err != nil:
			t.Errorf("% x: %v", c.in, err)
		case h.tag != c.tag || h.length != c.length || h.partial != c.partial || h.toEnd != c.toEnd || !bytes.Equal(h.raw[:h.rawLen], c.in):
			t.Errorf("% x: %+v", c.in, h)
		}
	}
}
