// Command fscapture runs inside a vmtest guest. It writes to stdout a
// gzipped tar of the /proc and /sys files that sysprep reads
// (vmtest.CapturePatterns, or the globs given as arguments), and lists
// the files it left out on stderr. The harness builds it static
// (CGO_ENABLED=0) and copies it into the guest.
//
//	fscapture > /tmp/tree.tar.gz
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"

	"github.com/rtcell/rtcell/rt/vmtest"
)

func main() {
	patterns := vmtest.CapturePatterns
	if len(os.Args) > 1 {
		patterns = os.Args[1:]
	}
	bw := bufio.NewWriter(os.Stdout)
	zw := gzip.NewWriter(bw)
	skipped, err := vmtest.CaptureTree(zw, "/", patterns)
	for _, s := range skipped {
		fmt.Fprintln(os.Stderr, "skipped", s)
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fscapture:", err)
		os.Exit(1)
	}
}
