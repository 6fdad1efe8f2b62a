package buildinfo_test

import (
	"fmt"
	"strings"

	"github.com/rtcell/rtcell/rt/buildinfo"
)

// A command prints its build for --version; a test binary is "(devel)"
// or a pseudo-version, with the Go version after it.
func Example() {
	v := buildinfo.String()
	fmt.Println(strings.Contains(v, buildinfo.Read().GoVersion))
	// Output: true
}
