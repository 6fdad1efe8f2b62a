package vdso

import (
	"encoding/binary"
	"errors"
	"testing"
)

func auxvBytes(wordSize int, kv ...uint64) []byte {
	var b []byte
	for _, v := range kv {
		if wordSize == 4 {
			b = binary.NativeEndian.AppendUint32(b, uint32(v))
		} else {
			b = binary.NativeEndian.AppendUint64(b, v)
		}
	}
	return b
}

func TestAuxvLookup(t *testing.T) {
	const atPagesz, atHwcap = 6, 16
	tests := []struct {
		name     string
		b        []byte
		wordSize int
		key      uint64
		want     uint64
		wantErr  error
	}{
		{name: "found", b: auxvBytes(8, atHwcap, 0xff, atSysinfoEhdr, 0x7fff0000, atPagesz, 4096, 0, 0), wordSize: 8, key: atSysinfoEhdr, want: 0x7fff0000},
		{name: "found 32-bit", b: auxvBytes(4, atSysinfoEhdr, 0xffffe000, 0, 0), wordSize: 4, key: atSysinfoEhdr, want: 0xffffe000},
		{name: "other key", b: auxvBytes(8, atSysinfoEhdr, 1, atPagesz, 4096, 0, 0), wordSize: 8, key: atPagesz, want: 4096},
		{name: "first match wins", b: auxvBytes(8, atSysinfoEhdr, 1, atSysinfoEhdr, 2, 0, 0), wordSize: 8, key: atSysinfoEhdr, want: 1},
		{name: "value after AT_NULL is ignored", b: auxvBytes(8, atPagesz, 4096, 0, 0, atSysinfoEhdr, 5), wordSize: 8, key: atSysinfoEhdr, wantErr: ErrNoVDSO},
		{name: "no vDSO (qemu-user, vdso=0)", b: auxvBytes(8, atPagesz, 4096, 0, 0), wordSize: 8, key: atSysinfoEhdr, wantErr: ErrNoVDSO},
		{name: "missing other key", b: auxvBytes(8, atPagesz, 4096, 0, 0), wordSize: 8, key: atHwcap, wantErr: ErrMalformed},
		{name: "no AT_NULL", b: auxvBytes(8, atPagesz, 4096), wordSize: 8, key: atSysinfoEhdr, wantErr: ErrMalformed},
		{name: "empty", b: nil, wordSize: 8, key: atSysinfoEhdr, wantErr: ErrMalformed},
		{name: "half a pair", b: auxvBytes(8, atPagesz, 4096, 0), wordSize: 8, key: atSysinfoEhdr, wantErr: ErrMalformed},
		{name: "odd bytes", b: append(auxvBytes(8, 0, 0), 1), wordSize: 8, key: atSysinfoEhdr, wantErr: ErrMalformed},
		{name: "bad word size", b: auxvBytes(8, 0, 0), wordSize: 2, key: atSysinfoEhdr, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auxvLookup(tt.b, tt.wordSize, tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("auxvLookup = %#x, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("auxvLookup = %#x, %v; want %#x", got, err, tt.want)
			}
		})
	}
}

func FuzzAuxvLookup(f *testing.F) {
	f.Add(auxvBytes(8, atSysinfoEhdr, 0x7fff0000, 0, 0), uint8(8))
	f.Add(auxvBytes(4, atSysinfoEhdr, 0xffffe000, 0, 0), uint8(4))
	f.Add([]byte{1, 2, 3}, uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, ws uint8) {
		v, err := auxvLookup(b, int(ws), atSysinfoEhdr)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoVDSO) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNoVDSO", err)
			}
			return
		}
		// A success must come from a real AT_SYSINFO_EHDR pair: find it again.
		w := int(ws)
		found := false
		for p := b; len(p) >= 2*w; p = p[2*w:] {
			k := binary.NativeEndian.Uint64(append(p[:w:w], make([]byte, 8-w)...))
			if k == atSysinfoEhdr {
				found = binary.NativeEndian.Uint64(append(p[w:2*w:2*w], make([]byte, 8-w)...)) == v
				break
			}
		}
		if !found {
			t.Fatalf("auxvLookup = %#x, not the first AT_SYSINFO_EHDR value", v)
		}
	})
}
