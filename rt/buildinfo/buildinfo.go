package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is what the build stamped.
type Info struct {
	// Module is the main module's path, e.g. github.com/rtcell/rtcell.
	Module string
	// Version is the main module's version: a tag, a pseudo-version that
	// go build derives from the VCS (Go 1.24 and later), or "(devel)"
	// (go run, go test, or a build outside a VCS checkout).
	Version string
	// Revision is the VCS commit hash, Time its time (RFC 3339), and
	// Modified whether the work tree had uncommitted changes; empty and
	// false when the build had no VCS information (-buildvcs=false, or
	// built from a module download).
	Revision, Time string
	Modified       bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Read returns the build information of the running binary.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// Version is the module version, e.g. "v1.2.0" or "(devel)".
func Version() string { return Read().Version }

// String is the version with the revision, e.g.
// "v1.2.0 (rev 0123456789ab, go1.26.0)" or
// "(devel) (rev 0123456789ab, modified, go1.26.0)".
func String() string { return Read().String() }

// String formats in as String does.
func (in Info) String() string {
	var extra []string
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		extra = append(extra, "rev "+rev)
	}
	if in.Modified {
		extra = append(extra, "modified")
	}
	if in.GoVersion != "" {
		extra = append(extra, in.GoVersion)
	}
	if len(extra) == 0 {
		return in.Version
	}
	return in.Version + " (" + strings.Join(extra, ", ") + ")"
}
