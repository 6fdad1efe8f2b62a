#include "textflag.h"

// func callVDSO(fn, stackTop uintptr, busy *uint32, clock int32) (ns int64, ret int64)
//
// Calls the vDSO's clock_gettime(clock, &ts) on the private stack that
// ends at stackTop, then releases the stack by storing 0 to *busy. A plain
// MOV is a release store on amd64 (TSO: a store is not reordered with the
// loads and stores before it), so the next owner, which takes the stack
// with LOCK CMPXCHG, sees every access of this call completed. See
// fast_linux_amd64.go for why each step is safe.
// Private stack layout, from the new SP up:
//	0(SP)	0: a non-PC word where a profiling unwinder looks for a return address
//	8(SP)	unused
//	16(SP)	ts.tv_sec
//	24(SP)	ts.tv_nsec
TEXT ·callVDSO(SB),NOSPLIT|NOFRAME,$0-48
	MOVQ	fn+0(FP), AX
	MOVQ	stackTop+8(FP), R8
	MOVL	clock+24(FP), DI	// clockid_t, first C argument
	MOVQ	SP, R12			// R12 is callee-saved in the C ABI
	LEAQ	-32(R8), SP		// switch stacks; stackTop is 16-byte aligned
	MOVQ	$0, 0(SP)
	LEAQ	16(SP), SI		// struct timespec *, second C argument
	CALL	AX
	MOVQ	16(SP), CX		// tv_sec
	MOVQ	24(SP), DX		// tv_nsec
	MOVQ	R12, SP			// back to the goroutine stack
	MOVQ	busy+16(FP), R8
	MOVL	$0, (R8)		// release the private stack
	MOVLQSX	AX, AX			// the C function returns int
	IMULQ	$1000000000, CX
	ADDQ	DX, CX
	MOVQ	CX, ns+32(FP)
	MOVQ	AX, ret+40(FP)
	RET

// func sleepVDSO(ts *unix.Timespec, fn, stackTop uintptr, busy *uint32) (ns int64, ret int64)
//
// Sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts, NULL),
// again after EINTR, and then reads CLOCK_MONOTONIC through the vDSO's
// clock_gettime on the private stack that ends at stackTop, exactly as
// callVDSO does, before any Go code runs. The caller holds the stack; it
// is released by the store of 0 to *busy. The sleep runs on the goroutine
// stack like unix.RawSyscall6 (SYSCALL uses no stack); it clobbers AX, CX
// and R11 only, all caller-saved in ABI0.
TEXT ·sleepVDSO(SB),NOSPLIT|NOFRAME,$0-48
again:
	MOVQ	$230, AX		// SYS_clock_nanosleep
	MOVQ	$1, DI			// CLOCK_MONOTONIC
	MOVQ	$1, SI			// TIMER_ABSTIME
	MOVQ	ts+0(FP), DX
	XORQ	R10, R10		// rmtp: NULL
	SYSCALL
	CMPQ	AX, $-4			// -EINTR: a signal handler ran; sleep on
	JEQ	again
	MOVQ	fn+8(FP), AX
	MOVQ	stackTop+16(FP), R8
	MOVL	$1, DI			// CLOCK_MONOTONIC, first C argument
	MOVQ	SP, R12
	LEAQ	-32(R8), SP
	MOVQ	$0, 0(SP)
	LEAQ	16(SP), SI
	CALL	AX
	MOVQ	16(SP), CX
	MOVQ	24(SP), DX
	MOVQ	R12, SP
	MOVQ	busy+24(FP), R8
	MOVL	$0, (R8)
	MOVLQSX	AX, AX
	IMULQ	$1000000000, CX
	ADDQ	DX, CX
	MOVQ	CX, ns+32(FP)
	MOVQ	AX, ret+40(FP)
	RET
