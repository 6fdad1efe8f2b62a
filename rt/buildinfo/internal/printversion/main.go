// Command printversion prints buildinfo.String(), for buildinfo's test.
package main

import (
	"fmt"

	"github.com/rtcell/rtcell/rt/buildinfo"
)

func main() { fmt.Println(buildinfo.String()) }
