//go:build amd64 && !purego

#include "textflag.h"

// func vecMatAddAVX2(y, x, w *float64, n, k, incX int)
//
// y[0:n] += x · W for row-major k×n W and x[0], x[incX], ... (k values). Columns are processed in
// chunks of 32, 16, 8 and 4 held in YMM accumulators, then one at a time;
// within a chunk every column is updated for k = 0..k-1 in order with
// VMULPD then VADDPD, exactly like the Go loop.
TEXT ·vecMatAddAVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), BX
	MOVQ k+32(FP), CX
	TESTQ CX, CX
	JE   done
	MOVQ BX, R8
	SHLQ $3, R8 // row stride of W in bytes
	MOVQ incX+40(FP), R12
	SHLQ $3, R12 // stride of x in bytes

chunk32:
	CMPQ    BX, $32
	JL      chunk16
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	VMOVUPD 128(DI), Y4
	VMOVUPD 160(DI), Y5
	VMOVUPD 192(DI), Y6
	VMOVUPD 224(DI), Y7
	MOVQ    SI, R9
	MOVQ    DX, R10
	MOVQ    CX, R11

loop32:
	VBROADCASTSD (R9), Y8
	VMULPD       0(R10), Y8, Y9
	VADDPD       Y9, Y0, Y0
	VMULPD       32(R10), Y8, Y10
	VADDPD       Y10, Y1, Y1
	VMULPD       64(R10), Y8, Y11
	VADDPD       Y11, Y2, Y2
	VMULPD       96(R10), Y8, Y12
	VADDPD       Y12, Y3, Y3
	VMULPD       128(R10), Y8, Y13
	VADDPD       Y13, Y4, Y4
	VMULPD       160(R10), Y8, Y14
	VADDPD       Y14, Y5, Y5
	VMULPD       192(R10), Y8, Y15
	VADDPD       Y15, Y6, Y6
	VMULPD       224(R10), Y8, Y9
	VADDPD       Y9, Y7, Y7
	ADDQ         R12, R9
	ADDQ         R8, R10
	DECQ         R11
	JNZ          loop32
	VMOVUPD      Y0, 0(DI)
	VMOVUPD      Y1, 32(DI)
	VMOVUPD      Y2, 64(DI)
	VMOVUPD      Y3, 96(DI)
	VMOVUPD      Y4, 128(DI)
	VMOVUPD      Y5, 160(DI)
	VMOVUPD      Y6, 192(DI)
	VMOVUPD      Y7, 224(DI)
	ADDQ         $256, DI
	ADDQ         $256, DX
	SUBQ         $32, BX
	JMP          chunk32

chunk16:
	CMPQ    BX, $16
	JL      chunk8
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	MOVQ    SI, R9
	MOVQ    DX, R10
	MOVQ    CX, R11

loop16:
	VBROADCASTSD (R9), Y8
	VMULPD       0(R10), Y8, Y9
	VADDPD       Y9, Y0, Y0
	VMULPD       32(R10), Y8, Y10
	VADDPD       Y10, Y1, Y1
	VMULPD       64(R10), Y8, Y11
	VADDPD       Y11, Y2, Y2
	VMULPD       96(R10), Y8, Y12
	VADDPD       Y12, Y3, Y3
	ADDQ         R12, R9
	ADDQ         R8, R10
	DECQ         R11
	JNZ          loop16
	VMOVUPD      Y0, 0(DI)
	VMOVUPD      Y1, 32(DI)
	VMOVUPD      Y2, 64(DI)
	VMOVUPD      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, DX
	SUBQ         $16, BX

chunk8:
	CMPQ    BX, $8
	JL      chunk4
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	MOVQ    SI, R9
	MOVQ    DX, R10
	MOVQ    CX, R11

loop8:
	VBROADCASTSD (R9), Y8
	VMULPD       0(R10), Y8, Y9
	VADDPD       Y9, Y0, Y0
	VMULPD       32(R10), Y8, Y10
	VADDPD       Y10, Y1, Y1
	ADDQ         R12, R9
	ADDQ         R8, R10
	DECQ         R11
	JNZ          loop8
	VMOVUPD      Y0, 0(DI)
	VMOVUPD      Y1, 32(DI)
	ADDQ         $64, DI
	ADDQ         $64, DX
	SUBQ         $8, BX

chunk4:
	CMPQ    BX, $4
	JL      tail
	VMOVUPD 0(DI), Y0
	MOVQ    SI, R9
	MOVQ    DX, R10
	MOVQ    CX, R11

loop4:
	VBROADCASTSD (R9), Y8
	VMULPD       0(R10), Y8, Y9
	VADDPD       Y9, Y0, Y0
	ADDQ         R12, R9
	ADDQ         R8, R10
	DECQ         R11
	JNZ          loop4
	VMOVUPD      Y0, 0(DI)
	ADDQ         $32, DI
	ADDQ         $32, DX
	SUBQ         $4, BX

tail:
	TESTQ  BX, BX
	JE     done
	VMOVSD (DI), X0
	MOVQ   SI, R9
	MOVQ   DX, R10
	MOVQ   CX, R11

loop1:
	VMOVSD (R9), X8
	VMULSD (R10), X8, X8
	VADDSD X8, X0, X0
	ADDQ   R12, R9
	ADDQ   R8, R10
	DECQ   R11
	JNZ    loop1
	VMOVSD X0, (DI)
	ADDQ   $8, DI
	ADDQ   $8, DX
	DECQ   BX
	JMP    tail

done:
	VZEROUPPER
	RET
