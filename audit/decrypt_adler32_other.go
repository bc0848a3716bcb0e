//go:build !amd64

package audit

// useAdler32AVX2 is false: adler32Update adds byte by byte.
const useAdler32AVX2 = false

func adler32AVX2(s1, s2 uint32, p []byte) (t1, t2 uint32) { panic("unreachable") }
