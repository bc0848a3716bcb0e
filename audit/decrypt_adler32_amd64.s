#include "textflag.h"

// The weights of the 32 bytes of a block in s2: 32 for the first byte
// down to 1 for the last.
DATA adlerWeights<>+0x00(SB)/8, $0x191a1b1c1d1e1f20
DATA adlerWeights<>+0x08(SB)/8, $0x1112131415161718
DATA adlerWeights<>+0x10(SB)/8, $0x090a0b0c0d0e0f10
DATA adlerWeights<>+0x18(SB)/8, $0x0102030405060708
GLOBL adlerWeights<>(SB), RODATA|NOPTR, $32

// func adler32AVX2(s1, s2 uint32, p []byte) (t1, t2 uint32)
//
// Per block of 32 bytes b0..b31, with S the sum s1 before it:
// s1 += b0+...+b31 and s2 += 32*S + 32*b0 + 31*b1 + ... + 1*b31.
// Y0 holds s1 and Y1 s2 spread over their lanes, Y2 the sum of the S
// (times 32 at the end); the lanes add up to the true sums, which stay
// below 2^32 for at most adlerNMax bytes.
TEXT ·adler32AVX2(SB), NOSPLIT, $0-40
	MOVL s1+0(FP), AX
	MOVL s2+4(FP), BX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX
	SHRQ $5, CX
	VMOVD AX, X0
	VMOVD BX, X1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VMOVDQU adlerWeights<>(SB), Y4
	VPCMPEQW Y5, Y5, Y5
	VPSRLW $15, Y5, Y5 // sixteen words of 1
	TESTQ CX, CX
	JZ    sums

loop:
	VMOVDQU    (SI), Y6
	VPADDD     Y0, Y2, Y2 // S
	VPSADBW    Y3, Y6, Y7 // b0+..+b7, b8+..+b15, ... in four quadwords
	VPADDD     Y7, Y0, Y0
	VPMADDUBSW Y4, Y6, Y8 // 32*b0 + 31*b1, ... in sixteen words
	VPMADDWD   Y5, Y8, Y8 // in eight doublewords
	VPADDD     Y8, Y1, Y1
	ADDQ       $32, SI
	DECQ       CX
	JNZ        loop
	VPSLLD     $5, Y2, Y2
	VPADDD     Y2, Y1, Y1

sums:
	VEXTRACTI128 $1, Y0, X7
	VPADDD       X7, X0, X0
	VPSHUFD      $0x4e, X0, X7
	VPADDD       X7, X0, X0
	VPSHUFD      $0xb1, X0, X7
	VPADDD       X7, X0, X0
	VMOVD        X0, AX
	VEXTRACTI128 $1, Y1, X7
	VPADDD       X7, X1, X1
	VPSHUFD      $0x4e, X1, X7
	VPADDD       X7, X1, X1
	VPSHUFD      $0xb1, X1, X7
	VPADDD       X7, X1, X1
	VMOVD        X1, BX
	VZEROUPPER
	MOVL AX, t1+32(FP)
	MOVL BX, t2+36(FP)
	RET
