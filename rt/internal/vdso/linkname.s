// This file is empty on purpose: a package with a Go function declared
// without a body (nanotime, bound by go:linkname) must contain an
// assembly file, or the compiler rejects the missing body.
