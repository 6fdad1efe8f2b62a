//go:build linux && (arm || 386 || mips || mipsle)

package rt

func timespecSec(s int64) int32 { return int32(s) }

func timespecNsec(ns int64) int32 { return int32(ns) }
