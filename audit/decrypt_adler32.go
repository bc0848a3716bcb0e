package audit

// The Adler-32 checksum of a ZLIB stream (RFC 1950 §8.2), as hash/adler32
// computes it, but 32 bytes at a time with AVX2 where the CPU has it:
// hash/adler32 takes a byte at a time, a fifth of the time klauspost's
// inflater takes for the same data, on one core.

const (
	adlerMod = 65521 // the largest prime below 2^16
	// adlerNMax is the most bytes whose sums fit in 32 bits before
	// reducing, s1 and s2 starting below adlerMod (as in zlib and
	// hash/adler32).
	adlerNMax = 5552
	// adlerVecMax is adlerNMax rounded down to whole 32-byte blocks.
	adlerVecMax = adlerNMax &^ 31
)

// adler32Update returns the Adler-32 of the data whose checksum was adler
// (1 for none) followed by p.
func adler32Update(adler uint32, p []byte) uint32 {
	s1, s2 := adler&0xffff, adler>>16
	if useAdler32AVX2 {
		for len(p) >= 32 {
			n := min(len(p), adlerVecMax) &^ 31
			s1, s2 = adler32AVX2(s1, s2, p[:n])
			s1, s2 = s1%adlerMod, s2%adlerMod
			p = p[n:]
		}
	}
	return adler32Bytes(s2<<16|s1, p)
}

// adler32Bytes is adler32Update a byte at a time, as hash/adler32 does.
func adler32Bytes(adler uint32, p []byte) uint32 {
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		q := p[:min(len(p), adlerNMax)]
		p = p[len(q):]
		for len(q) >= 4 {
			s1 += uint32(q[0])
			s2 += s1
			s1 += uint32(q[1])
			s2 += s1
			s1 += uint32(q[2])
			s2 += s1
			s1 += uint32(q[3])
			s2 += s1
			q = q[4:]
		}
		for _, c := range q {
			s1 += uint32(c)
			s2 += s1
		}
		s1, s2 = s1%adlerMod, s2%adlerMod
	}
	return s2<<16 | s1
}
