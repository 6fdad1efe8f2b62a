package shm_test

import (
	"fmt"

	"github.com/rtcell/rtcell/rt/shm"
)

// Inputs is what the supervisor sends the loop each cycle: fixed-size,
// pointer-free.
type Inputs struct {
	Setpoint float64
	Enable   bool
	Mode     [16]byte // not a string: strings hold pointers
}

type Sample struct {
	Cycle uint64
	Temp  float64
}

func Example() {
	// In the supervisor: reg, f, err := shm.NewRegion("inputs", shm.ImageSize[Inputs]())
	// and pass f to the worker, which maps it with shm.OpenRegion and shm.OpenImage.
	reg := shm.PrivateRegion(shm.ImageSize[Inputs]())
	in, _ := shm.NewImage[Inputs](reg)
	in.Write(&Inputs{Setpoint: 42.5, Enable: true})

	// In the loop, each cycle: no lock, no allocation, no syscall.
	var cur Inputs
	if in.Read(&cur) {
		fmt.Println("setpoint", cur.Setpoint, "version", in.Version())
	}

	// Samples out of the loop: keep the newest 4 if nobody reads.
	out, _ := shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](4)), 4, shm.OverwriteOldest)
	for c := range uint64(6) {
		out.Push(&Sample{Cycle: c, Temp: 20 + float64(c)})
	}
	batch := make([]Sample, 8)
	n := out.PopBatch(batch)
	fmt.Println("got", n, "first cycle", batch[0].Cycle, "stats", out.Stats())

	// A type with a pointer is refused, naming the field.
	type Bad struct {
		ID   uint32
		Name string
	}
	_, err := shm.NewImage[Bad](shm.PrivateRegion(4096))
	fmt.Println(err)
	// Output:
	// setpoint 42.5 version 1
	// got 4 first cycle 2 stats {6 4 2}
	// creating image: type shm_test.Bad cannot be placed in shared memory: field Name is a string; a string points to memory the other process cannot see: use a fixed [N]byte array
}
