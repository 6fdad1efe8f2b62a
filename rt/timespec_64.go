//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64 || mips64 || mips64le || ppc64)

package rt

func timespecSec(s int64) int64 { return s }

func timespecNsec(ns int64) int64 { return ns }
