// Package buildinfo says which build of rtcell is running: the module
// version and the VCS revision the go command stamped into the binary
// (runtime/debug.ReadBuildInfo). Commands print it for --version and put
// it in every report, so a signed sheet or a run report names the exact
// build that made it.
//
//	fmt.Println("sysprep", buildinfo.String())
//	// sysprep v0.0.0-20261130182458-850717aa5b5e (rev 850717aa5b5e, go1.26.8)
package buildinfo
