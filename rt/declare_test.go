package rt

import (
	"errors"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/shm"
)

// declPanicked runs declare and returns the error it panicked with.
func declPanicked(t *testing.T, declare func()) (err error) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("declaration did not panic")
		}
		e, ok := r.(error)
		if !ok {
			t.Fatalf("panicked with %T %v, want an error", r, r)
		}
		err = e
	}()
	declare()
	return nil
}

type declTag struct {
	ID   uint32
	Name string
}

type declBad struct {
	Speed float64
	Tags  [4]declTag
}

type declPtr struct {
	Limits struct{ Max *float64 }
}

// TestDeclareChecksType: a type that cannot be placed in shared memory
// is refused at declaration, before anything runs, with one message that
// names the region, the type, the field path and why, and no region is
// declared.
func TestDeclareChecksType(t *testing.T) {
	regionsMu.Lock()
	before := len(regions)
	regionsMu.Unlock()
	cases := []struct {
		name    string
		declare func()
		want    string
	}{
		{"image with a string", func() { DeclareImage[declBad]("inputs") },
			`rt: declaring image "inputs": type rt.declBad cannot be placed in shared memory: field Tags[i].Name is a string;`},
		{"ring with a pointer", func() { DeclareRing[declPtr]("events", 64, shm.DropNewest) },
			`rt: declaring ring "events": type rt.declPtr cannot be placed in shared memory: field Limits.Max is a ptr;`},
		{"ring of 100", func() { DeclareRing[uint64]("events", 100, shm.DropNewest) },
			`rt: declaring ring "events": capacity 100 is not a power of two`},
		{"region of 0 bytes", func() { DeclareRegion("raw", 0) },
			`rt: declaring region "raw": size 0 must be positive`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := declPanicked(t, c.declare)
			msg := err.Error()
			if !strings.HasPrefix(msg, c.want) {
				t.Errorf("panic:\n%s\nwant it to start with:\n%s", msg, c.want)
			}
			if strings.Count(msg, "declaring") != 1 || strings.Count(msg, "cannot be placed") > 1 {
				t.Errorf("repeated prefix: %s", msg)
			}
		})
	}
	err := declPanicked(t, func() { DeclareImage[declBad]("inputs") })
	var te *shm.TypeError
	if !errors.As(err, &te) || !errors.Is(err, shm.ErrType) || te.Field != "Tags[i].Name" {
		t.Errorf("the error does not carry the *shm.TypeError: %v", err)
	}
	regionsMu.Lock()
	after := len(regions)
	regionsMu.Unlock()
	if after != before {
		t.Errorf("refused declarations added %d regions", after-before)
	}
}
