module github.com/rtcell/rtcell

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/prometheus/procfs v0.23.0
	golang.org/x/sys v0.49.0
)
