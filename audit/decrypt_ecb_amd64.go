package audit

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/cpu"
)

// ecbEncryptAsm encrypts nblocks consecutive 16-byte blocks of src into
// dst with the expanded key xk of nr rounds, eight blocks at a time, with
// AES-NI.
//
//go:noescape
func ecbEncryptAsm(nr int, xk *byte, dst, src *byte, nblocks int)

// cfbXORVAES sets dst[i] = AES(src[i]) XOR x[i] for nblocks consecutive
// 16-byte blocks, with the expanded key xk of nr rounds, 32 blocks at a
// time with VAES on 512-bit registers (AVX-512).
//
//go:noescape
func cfbXORVAES(nr int, xk *byte, dst, src, x *byte, nblocks int)

var (
	hasAESNI = cpu.X86.HasAES
	hasVAES  = cpu.X86.HasAES && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VAES
)

// cfbFunc returns, for the CFB decrypter, a function that sets
// dst[i] = AES(src[i]) XOR x[i] for the len(src)/16 blocks of src, or nil
// without VAES and AVX-512: the decrypter then encrypts with ecbFunc and
// XORs after.
func cfbFunc(key []byte) func(dst, src, x []byte) {
	if !hasVAES {
		return nil
	}
	xk, nr := expandKey(key)
	return func(dst, src, x []byte) {
		n := len(src) / 16
		if n == 0 {
			return
		}
		_, _ = dst[n*16-1], x[n*16-1] // bounds checks before the assembly
		cfbXORVAES(nr, &xk[0], &dst[0], &src[0], &x[0], n)
	}
}

// ecbFunc returns a multi-block AES encryption under key (16, 24 or 32
// bytes) for the CFB decrypter, or nil without AES-NI: the decrypter then
// encrypts block by block with crypto/aes.
func ecbFunc(key []byte) func(dst, src []byte) {
	if !hasAESNI {
		return nil
	}
	xk, nr := expandKey(key)
	return func(dst, src []byte) {
		n := len(src) / 16
		if n == 0 {
			return
		}
		_ = dst[n*16-1] // bounds check before the assembly writes
		ecbEncryptAsm(nr, &xk[0], &dst[0], &src[0], n)
	}
}

// expandKey is the AES key expansion of FIPS 197 §5.2: the nr+1 round
// keys, in the byte order AESENC takes them, and nr.
func expandKey(key []byte) ([]byte, int) {
	nk := len(key) / 4
	nr := nk + 6
	w := make([]uint32, 4*(nr+1))
	for i := range nk {
		w[i] = binary.BigEndian.Uint32(key[4*i:])
	}
	rcon := uint32(1)
	for i := nk; i < len(w); i++ {
		t := w[i-1]
		switch {
		case i%nk == 0:
			t = subWord(t<<8|t>>24) ^ rcon<<24
			rcon = uint32(xtime(byte(rcon)))
		case nk > 6 && i%nk == 4:
			t = subWord(t)
		}
		w[i] = w[i-nk] ^ t
	}
	xk := make([]byte, 4*len(w))
	for i, v := range w {
		binary.BigEndian.PutUint32(xk[4*i:], v)
	}
	return xk, nr
}

func subWord(w uint32) uint32 {
	s := sbox()
	return uint32(s[w>>24])<<24 | uint32(s[w>>16&0xff])<<16 | uint32(s[w>>8&0xff])<<8 | uint32(s[w&0xff])
}

// xtime multiplies by x in GF(2^8) modulo x^8+x^4+x^3+x+1.
func xtime(b byte) byte {
	if b&0x80 != 0 {
		return b<<1 ^ 0x1b
	}
	return b << 1
}

// sbox is the AES S-box, computed from its definition (FIPS 197 §5.1.1)
// on first use: the multiplicative inverse in GF(2^8) (through powers of
// the generator 3), then the affine transformation.
var sbox = sync.OnceValue(func() (s *[256]byte) {
	var exp [255]byte
	var log [256]int
	x := byte(1)
	for i := range 255 {
		exp[i], log[x] = x, i
		x ^= xtime(x) // x·3
	}
	s = new([256]byte)
	for v := range 256 {
		var inv byte
		if v != 0 {
			inv = exp[(255-log[v])%255]
		}
		rot := func(b byte, k uint) byte { return b<<k | b>>(8-k) }
		s[v] = inv ^ rot(inv, 1) ^ rot(inv, 2) ^ rot(inv, 3) ^ rot(inv, 4) ^ 0x63
	}
	return s
})
