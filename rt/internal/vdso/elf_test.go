package vdso

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestFindSymbol(t *testing.T) {
	le := binary.LittleEndian
	arm64 := testImage{
		machine:  emAArch64,
		versions: []string{"LINUX_2.6.39"},
		syms: []testSym{
			{name: "__kernel_rt_sigreturn", version: 2, value: 0x00},
			{name: "__kernel_gettimeofday", version: 2, value: 0x20},
			{name: "__kernel_clock_gettime", version: 2, value: 0x60},
		},
	}
	twoVersions := testImage{
		machine:  emX86_64,
		versions: []string{"LINUX_2.5", "LINUX_2.6"},
		syms: []testSym{
			{name: "__vdso_clock_gettime", version: 2, value: 0x10},
			{name: "__vdso_clock_gettime", version: 3, value: 0x30},
		},
	}
	only := func(s testSym, mut func(*testImage)) testImage {
		ti := testImage{machine: emX86_64, versions: []string{"LINUX_2.6"}, syms: []testSym{s}}
		if mut != nil {
			mut(&ti)
		}
		return ti
	}
	gnu := amd64Like()
	gnu.gnuHash = true
	biased := amd64Like()
	biased.loadVaddr = 0xffffffffff700000 // where pre-3.x x86-64 vDSOs were linked
	noVer := amd64Like()
	noVer.noVersion = true
	noVer.syms[3].version = 0

	tests := []struct {
		name    string
		img     []byte
		key     symbolKey
		wantOff int64 // offset into the text; -1 means: expect wantErr
		wantErr error
	}{
		{name: "amd64 DT_HASH", img: amd64Like().build().img, key: keyAMD64, wantOff: 0x40},
		{name: "amd64 DT_GNU_HASH", img: gnu.build().img, key: keyAMD64, wantOff: 0x40},
		{name: "amd64 load bias", img: biased.build().img, key: keyAMD64, wantOff: 0x40},
		{name: "arm64", img: arm64.build().img, key: keyARM64, wantOff: 0x60},
		{name: "picks the requested version", img: twoVersions.build().img, key: keyAMD64, wantOff: 0x30},
		{name: "no version tables accept any", img: noVer.build().img, key: keyAMD64, wantOff: 0x40},
		{name: "any version when key has none", img: twoVersions.build().img, key: symbolKey{Name: "__vdso_clock_gettime"}, wantOff: 0x10},
		{name: "weak binding is accepted", img: only(testSym{name: "__vdso_clock_gettime", version: 2, bind: stbWeak, value: 8}, nil).build().img, key: keyAMD64, wantOff: 8},
		{name: "notype is accepted", img: only(testSym{name: "__vdso_clock_gettime", version: 2, notype: true, value: 8}, nil).build().img, key: keyAMD64, wantOff: 8},

		{name: "wrong machine", img: arm64.build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "wrong version", img: only(testSym{name: "__vdso_clock_gettime", version: 2}, func(ti *testImage) { ti.versions = []string{"LINUX_2.5"} }).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "missing symbol", img: only(testSym{name: "__vdso_time", version: 2}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "prefix of the name only", img: only(testSym{name: "__vdso_clock_gettime64", version: 2}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "undefined symbol", img: only(testSym{name: "__vdso_clock_gettime", version: 2, undef: true}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "object symbol", img: only(testSym{name: "__vdso_clock_gettime", version: 2, typ: 1}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "local binding", img: only(testSym{name: "__vdso_clock_gettime", version: 2, local: true}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrSymbolNotFound},
		{name: "value outside PT_LOAD", img: only(testSym{name: "__vdso_clock_gettime", version: 2, value: 1 << 40, rawVal: true}, nil).build().img, key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "empty", img: nil, key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "bad magic", img: mutate(amd64Like().build().img, func(b []byte) { b[1] = 'X' }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "32-bit class", img: mutate(amd64Like().build().img, func(b []byte) { b[4] = 1 }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "big endian", img: mutate(amd64Like().build().img, func(b []byte) { b[5] = 2 }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "no PT_DYNAMIC", img: mutate(amd64Like().build().img, func(b []byte) { le.PutUint32(b[elfHeaderSize+elfPhdrSize:], 6) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "no PT_LOAD", img: mutate(amd64Like().build().img, func(b []byte) { le.PutUint32(b[elfHeaderSize:], 6) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "phdrs past the end", img: mutate(amd64Like().build().img, func(b []byte) { le.PutUint64(b[32:], 1<<62) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "short e_phentsize", img: mutate(amd64Like().build().img, func(b []byte) { le.PutUint16(b[54:], 8) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "PT_DYNAMIC past the end", img: mutate(amd64Like().build().img, func(b []byte) { le.PutUint64(b[elfHeaderSize+elfPhdrSize+8:], 1<<40) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "huge nchain", img: mutateDyn(amd64Like().build(), dtHash, func(b []byte, off uint64) { le.PutUint32(b[off+4:], 0xffffffff) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "DT_SYMTAB outside PT_LOAD", img: mutateDynVal(amd64Like().build(), dtSymtab, 1<<50), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "DT_STRTAB outside PT_LOAD", img: mutateDynVal(amd64Like().build(), dtStrtab, 1<<50), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "bad DT_SYMENT", img: mutateDynVal(amd64Like().build(), dtSyment, 16), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "no hash table", img: mutateDynTag(amd64Like().build(), dtHash, 0x7000_0000), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "no DT_SYMTAB", img: mutateDynTag(amd64Like().build(), dtSymtab, 0x7000_0000), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "vd_next past the end", img: mutateDyn(amd64Like().build(), dtVerdef, func(b []byte, off uint64) { le.PutUint32(b[off+16:], 1<<30) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "vda_name past the end", img: mutateDyn(amd64Like().build(), dtVerdef, func(b []byte, off uint64) { le.PutUint32(b[off+28+20:], 1<<30) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "st_name past the end", img: func() []byte {
			l := amd64Like().build()
			return mutate(l.img, func(b []byte) { le.PutUint32(b[l.symO+4*elfSymSize:], 1<<30) })
		}(), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
		{name: "GNU hash buckets past the end", img: mutateDyn(gnu.build(), dtGNUHash, func(b []byte, off uint64) { le.PutUint32(b[off:], 1<<30) }), key: keyAMD64, wantOff: -1, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findSymbol(tt.img, tt.key)
			if tt.wantOff < 0 {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("findSymbol = %#x, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("findSymbol: %v", err)
			}
			textOff := uint64(len(tt.img)) - 256 // the builder puts 256 bytes of text last
			if want := textOff + uint64(tt.wantOff); got != want {
				t.Fatalf("findSymbol = %#x, want %#x", got, want)
			}
		})
	}
}

// TestFindSymbolTruncated cuts a valid image at every length: each cut must
// give an error (the symbol table is then incomplete, or the text the
// symbol points at is gone), and none may panic.
func TestFindSymbolTruncated(t *testing.T) {
	for _, ti := range []testImage{amd64Like(), func() testImage { g := amd64Like(); g.gnuHash = true; return g }()} {
		img := ti.build().img
		if _, err := findSymbol(img, keyAMD64); err != nil {
			t.Fatalf("full image: %v", err)
		}
		for n := range len(img) - 256 + 0x40 + 1 {
			if off, err := findSymbol(img[:n], keyAMD64); err == nil {
				t.Fatalf("image cut to %d of %d bytes: findSymbol = %#x, want an error", n, len(img), off)
			}
		}
	}
}

func TestImageSize(t *testing.T) {
	le := binary.LittleEndian
	img := amd64Like().build().img
	withSections := mutate(img, func(b []byte) {
		le.PutUint64(b[40:], uint64(len(b))+100) // e_shoff
		le.PutUint16(b[60:], 3)                  // e_shnum; e_shentsize is 64
	})
	tests := []struct {
		name    string
		head    []byte
		want    int
		wantErr error
	}{
		{name: "PT_LOAD covers the file", head: img, want: len(img)},
		{name: "section headers last", head: withSections, want: len(img) + 100 + 3*64},
		{name: "header only is enough to size", head: img[:elfHeaderSize+2*elfPhdrSize], want: len(img)},
		{name: "truncated program headers", head: img[:elfHeaderSize+elfPhdrSize], wantErr: ErrMalformed},
		{name: "short", head: img[:10], wantErr: ErrMalformed},
		{name: "huge PT_LOAD", head: mutate(img, func(b []byte) { le.PutUint64(b[elfHeaderSize+32:], 1<<40) }), wantErr: ErrMalformed},
		{name: "PT_LOAD offset overflow", head: mutate(img, func(b []byte) { le.PutUint64(b[elfHeaderSize+8:], ^uint64(0)) }), wantErr: ErrMalformed},
		{name: "huge e_shoff", head: mutate(withSections, func(b []byte) { le.PutUint64(b[40:], ^uint64(0)-10) }), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imageSize(tt.head)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("imageSize = %d, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("imageSize = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func mutate(img []byte, f func([]byte)) []byte {
	b := append([]byte(nil), img...)
	f(b)
	return b
}

// dynEntry returns the file offset of the .dynamic entry with tag.
func dynEntry(l layout, tag uint64) uint64 {
	for p := l.dynOff; ; p += elfDynSize {
		if binary.LittleEndian.Uint64(l.img[p:]) == tag {
			return p
		}
	}
}

// mutateDyn calls f with the file offset the .dynamic entry tag points to.
func mutateDyn(l layout, tag uint64, f func(b []byte, off uint64)) []byte {
	return mutate(l.img, func(b []byte) {
		f(b, binary.LittleEndian.Uint64(b[dynEntry(l, tag)+8:]))
	})
}

func mutateDynVal(l layout, tag, val uint64) []byte {
	return mutate(l.img, func(b []byte) { binary.LittleEndian.PutUint64(b[dynEntry(l, tag)+8:], val) })
}

func mutateDynTag(l layout, tag, newTag uint64) []byte {
	return mutate(l.img, func(b []byte) { binary.LittleEndian.PutUint64(b[dynEntry(l, tag):], newTag) })
}

func FuzzFindSymbol(f *testing.F) {
	g := amd64Like()
	g.gnuHash = true
	f.Add(amd64Like().build().img)
	f.Add(g.build().img)
	if img, err := liveImageForTest(); err == nil {
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		for _, k := range []symbolKey{keyAMD64, keyARM64, {Name: "__vdso_clock_gettime"}} {
			off, err := findSymbol(img, k)
			if err == nil && off >= uint64(len(img)) {
				t.Fatalf("findSymbol = %#x for a %d-byte image", off, len(img))
			}
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSymbolNotFound) {
				t.Fatalf("findSymbol error %v wraps neither ErrMalformed nor ErrSymbolNotFound", err)
			}
		}
		n, err := imageSize(img)
		if err == nil && (n < elfHeaderSize || n > maxImageSize) {
			t.Fatalf("imageSize = %d, outside [%d, %d]", n, elfHeaderSize, maxImageSize)
		}
	})
}
