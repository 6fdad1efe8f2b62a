// Package shm holds the objects a real-time worker process and its
// supervisor exchange data through: a typed process image (Image) and
// single-producer single-consumer rings (Ring), laid over a shared-memory
// Region (a memfd both processes map).
//
// Why shared memory: the RT loop owns its process (GOMAXPROCS=1,
// asyncpreemptoff=1, GOGC=off) and must never block, allocate or enter
// the Go scheduler in a cycle; the HTTP, logging and network side runs in
// the supervisor. Pipes and sockets would mean syscalls and buffers in
// the cycle; plain memory with atomics costs tens of ns and no syscall.
//
// Element types must be fixed-size and pointer-free (numbers, bools,
// arrays and structs of them): a pointer into one process's heap means
// nothing in the other. The constructors check this with reflect and name
// the offending field. Headers carry a magic, a layout version, the
// element size and a fingerprint of the element type, so a process that
// opens a region with the wrong type gets an error, not garbage.
//
// Image has one writer; use one for inputs (supervisor writes, loop reads)
// and one for outputs. Ring has one producer and one consumer; under
// DropNewest a full ring refuses new items, under OverwriteOldest new
// items replace the oldest unread ones. Both count what they drop.
// Write, Read, Push, Pop and PopBatch are wait-free, allocation-free and
// nosplit, so they add no preemption point to the loop.
//
// Example. In the supervisor, before starting the worker:
//
//	reg, f, err := shm.NewRegion("inputs", shm.ImageSize[Inputs]())
//	in, err := shm.NewImage[Inputs](reg)
//	cmd.ExtraFiles = []*os.File{f} // fd 3 in the worker
//	in.Write(&Inputs{Setpoint: 42})
//
// In the worker, before the loop:
//
//	reg, err := shm.OpenRegion(os.NewFile(3, "inputs"))
//	in, err := shm.OpenImage[Inputs](reg)
//	var cur Inputs
//	// each cycle:
//	if !in.Read(&cur) { /* keep last cycle's value */ }
package shm
