package worker

import (
	"slices"
	"testing"
)

func TestEnviron(t *testing.T) {
	env := Environ([]string{"PATH=/bin", "GODEBUG=gctrace=1", "GOGC=100", "GOMAXPROCS=4", EnvSpec + "={}"}, 0)
	want := []string{"PATH=/bin", "GOMAXPROCS=1", "GODEBUG=gctrace=1,asyncpreemptoff=1", "GOGC=off", "GOMEMLIMIT=268435456"}
	if !slices.Equal(env, want) {
		t.Fatalf("Environ = %q, want %q", env, want)
	}
	env = Environ(nil, 1<<20)
	if want := []string{"GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1", "GOGC=off", "GOMEMLIMIT=1048576"}; !slices.Equal(env, want) {
		t.Fatalf("Environ(nil, 1 MiB) = %q, want %q", env, want)
	}
}
