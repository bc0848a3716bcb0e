package audit

import "golang.org/x/sys/cpu"

// useAdler32AVX2 tells adler32Update to use adler32AVX2.
var useAdler32AVX2 = cpu.X86.HasAVX2

// adler32AVX2 adds the bytes of p, a multiple of 32 bytes long and at most
// adlerVecMax, to the Adler-32 sums s1 and s2 (both below adlerMod) and
// returns the sums, not reduced modulo adlerMod.
//
//go:noescape
func adler32AVX2(s1, s2 uint32, p []byte) (t1, t2 uint32)
