#include "textflag.h"

// func ecbEncryptAsm(nr int, xk *byte, dst, src *byte, nblocks int)
TEXT ·ecbEncryptAsm(SB), NOSPLIT, $0-40
	MOVQ nr+0(FP), CX
	MOVQ xk+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ nblocks+32(FP), DX

loop8:
	CMPQ DX, $8
	JB   loop1
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVOU 64(SI), X4
	MOVOU 80(SI), X5
	MOVOU 96(SI), X6
	MOVOU 112(SI), X7
	MOVOU (AX), X8
	PXOR  X8, X0
	PXOR  X8, X1
	PXOR  X8, X2
	PXOR  X8, X3
	PXOR  X8, X4
	PXOR  X8, X5
	PXOR  X8, X6
	PXOR  X8, X7
	LEAQ  16(AX), BX
	MOVQ  CX, R8
	DECQ  R8

round8:
	MOVOU  (BX), X8
	AESENC X8, X0
	AESENC X8, X1
	AESENC X8, X2
	AESENC X8, X3
	AESENC X8, X4
	AESENC X8, X5
	AESENC X8, X6
	AESENC X8, X7
	ADDQ   $16, BX
	DECQ   R8
	JNZ    round8
	MOVOU      (BX), X8
	AESENCLAST X8, X0
	AESENCLAST X8, X1
	AESENCLAST X8, X2
	AESENCLAST X8, X3
	AESENCLAST X8, X4
	AESENCLAST X8, X5
	AESENCLAST X8, X6
	AESENCLAST X8, X7
	MOVOU X0, 0(DI)
	MOVOU X1, 16(DI)
	MOVOU X2, 32(DI)
	MOVOU X3, 48(DI)
	MOVOU X4, 64(DI)
	MOVOU X5, 80(DI)
	MOVOU X6, 96(DI)
	MOVOU X7, 112(DI)
	ADDQ  $128, SI
	ADDQ  $128, DI
	SUBQ  $8, DX
	JMP   loop8

loop1:
	TESTQ DX, DX
	JZ    done
	MOVOU (SI), X0
	MOVOU (AX), X8
	PXOR  X8, X0
	LEAQ  16(AX), BX
	MOVQ  CX, R8
	DECQ  R8

round1:
	MOVOU  (BX), X8
	AESENC X8, X0
	ADDQ   $16, BX
	DECQ   R8
	JNZ    round1
	MOVOU      (BX), X8
	AESENCLAST X8, X0
	MOVOU      X0, (DI)
	ADDQ       $16, SI
	ADDQ       $16, DI
	DECQ       DX
	JMP        loop1

done:
	RET

// func cfbXORVAES(nr int, xk *byte, dst, src, x *byte, nblocks int)
//
// dst[i] = AES(src[i]) XOR x[i] for nblocks 16-byte blocks: CFB
// decryption, with src the previous ciphertext blocks and x the current
// ones. 32 blocks at a time in eight 512-bit registers with VAES
// (AVX-512), the rest one block at a time.
TEXT ·cfbXORVAES(SB), NOSPLIT, $0-48
	MOVQ nr+0(FP), CX
	MOVQ xk+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ x+32(FP), R9
	MOVQ nblocks+40(FP), DX

loop32:
	CMPQ            DX, $32
	JB              tail
	VBROADCASTI32X4 (AX), Z8
	VPXORD          0(SI), Z8, Z0
	VPXORD          64(SI), Z8, Z1
	VPXORD          128(SI), Z8, Z2
	VPXORD          192(SI), Z8, Z3
	VPXORD          256(SI), Z8, Z4
	VPXORD          320(SI), Z8, Z5
	VPXORD          384(SI), Z8, Z6
	VPXORD          448(SI), Z8, Z7
	LEAQ            16(AX), BX
	MOVQ            CX, R8
	DECQ            R8

round32:
	VBROADCASTI32X4 (BX), Z8
	VAESENC         Z8, Z0, Z0
	VAESENC         Z8, Z1, Z1
	VAESENC         Z8, Z2, Z2
	VAESENC         Z8, Z3, Z3
	VAESENC         Z8, Z4, Z4
	VAESENC         Z8, Z5, Z5
	VAESENC         Z8, Z6, Z6
	VAESENC         Z8, Z7, Z7
	ADDQ            $16, BX
	DECQ            R8
	JNZ             round32
	VBROADCASTI32X4 (BX), Z8
	VAESENCLAST     Z8, Z0, Z0
	VAESENCLAST     Z8, Z1, Z1
	VAESENCLAST     Z8, Z2, Z2
	VAESENCLAST     Z8, Z3, Z3
	VAESENCLAST     Z8, Z4, Z4
	VAESENCLAST     Z8, Z5, Z5
	VAESENCLAST     Z8, Z6, Z6
	VAESENCLAST     Z8, Z7, Z7
	VPXORD          0(R9), Z0, Z0
	VPXORD          64(R9), Z1, Z1
	VPXORD          128(R9), Z2, Z2
	VPXORD          192(R9), Z3, Z3
	VPXORD          256(R9), Z4, Z4
	VPXORD          320(R9), Z5, Z5
	VPXORD          384(R9), Z6, Z6
	VPXORD          448(R9), Z7, Z7
	VMOVDQU64       Z0, 0(DI)
	VMOVDQU64       Z1, 64(DI)
	VMOVDQU64       Z2, 128(DI)
	VMOVDQU64       Z3, 192(DI)
	VMOVDQU64       Z4, 256(DI)
	VMOVDQU64       Z5, 320(DI)
	VMOVDQU64       Z6, 384(DI)
	VMOVDQU64       Z7, 448(DI)
	ADDQ            $512, SI
	ADDQ            $512, DI
	ADDQ            $512, R9
	SUBQ            $32, DX
	JMP             loop32

tail:
	TESTQ   DX, DX
	JZ      vdone
	VMOVDQU (SI), X0
	VMOVDQU (AX), X8
	VPXOR   X8, X0, X0
	LEAQ    16(AX), BX
	MOVQ    CX, R8
	DECQ    R8

round1v:
	VMOVDQU     (BX), X8
	VAESENC     X8, X0, X0
	ADDQ        $16, BX
	DECQ        R8
	JNZ         round1v
	VMOVDQU     (BX), X8
	VAESENCLAST X8, X0, X0
	VPXOR       (R9), X0, X0
	VMOVDQU     X0, (DI)
	ADDQ        $16, SI
	ADDQ        $16, DI
	ADDQ        $16, R9
	DECQ        DX
	JMP         tail

vdone:
	VZEROUPPER
	RET
