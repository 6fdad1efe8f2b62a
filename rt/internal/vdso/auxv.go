package vdso

import (
	"encoding/binary"
	"fmt"
)

// atSysinfoEhdr is the auxiliary-vector key whose value is the address
// of the vDSO's ELF header (AT_SYSINFO_EHDR in elf.h).
const atSysinfoEhdr = 33

// auxvLookup returns the value for key in a raw auxiliary vector, as read
// from /proc/self/auxv: pairs of native-endian words of wordSize bytes
// (4 or 8), ended by an AT_NULL (0) key. A missing key wraps ErrNoVDSO
// when key is AT_SYSINFO_EHDR; a vector whose length is not a whole number
// of pairs, or that lacks the AT_NULL end, wraps ErrMalformed.
func auxvLookup(b []byte, wordSize int, key uint64) (uint64, error) {
	if wordSize != 4 && wordSize != 8 {
		return 0, fmt.Errorf("parsing auxv: word size %d, want 4 or 8: %w", wordSize, ErrMalformed)
	}
	if len(b)%(2*wordSize) != 0 {
		return 0, fmt.Errorf("parsing auxv: %d bytes is not a whole number of %d-byte pairs: %w", len(b), 2*wordSize, ErrMalformed)
	}
	word := func(p []byte) uint64 {
		if wordSize == 4 {
			return uint64(binary.NativeEndian.Uint32(p))
		}
		return binary.NativeEndian.Uint64(p)
	}
	for p := b; len(p) > 0; p = p[2*wordSize:] {
		k, v := word(p), word(p[wordSize:])
		if k == 0 {
			if key == atSysinfoEhdr {
				return 0, fmt.Errorf("parsing auxv: no AT_SYSINFO_EHDR entry: %w", ErrNoVDSO)
			}
			return 0, fmt.Errorf("parsing auxv: no entry for key %d: %w", key, ErrMalformed)
		}
		if k == key {
			return v, nil
		}
	}
	return 0, fmt.Errorf("parsing auxv: no AT_NULL entry at the end: %w", ErrMalformed)
}
