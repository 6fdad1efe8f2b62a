package shm

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// The multi-process tests re-execute the test binary with envChild naming
// one of children; TestMain then runs that child role instead of the
// tests and prints its result as JSON on stdout. Shared regions arrive as
// inherited files from fd 3 on (exec.Cmd.ExtraFiles).
const envChild = "RTCELL_SHM_CHILD"

var children = map[string]func() (any, error){}

func TestMain(m *testing.M) {
	if name := os.Getenv(envChild); name != "" {
		f, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown child role %q\n", name)
			os.Exit(3)
		}
		v, err := f()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
