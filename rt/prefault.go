package rt

const defaultStackPrefault = 64 << 10

// prefaultStack grows the goroutine's stack to hold at least n bytes and
// touches it. Growth copies the stack, which an RT cycle must not pay for.
func prefaultStack(n int) {
	if n <= 0 {
		n = defaultStackPrefault
	}
	touchStack8K(n/8192 + 1)
}

// touchStack8K recurses depth times with an 8 KiB frame each.
//
//go:noinline
func touchStack8K(depth int) byte {
	var buf [8192]byte
	for i := 0; i < len(buf); i += 512 {
		buf[i] = byte(depth)
	}
	if depth <= 1 {
		return buf[depth&8191]
	}
	return touchStack8K(depth-1) + buf[100]
}
