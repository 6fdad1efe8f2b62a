package vdso

import (
	"encoding/binary"
	"fmt"
)

// This file is the pure part of symbol resolution: it reads a vDSO ELF
// image from a byte slice, checks every offset against the slice, and
// never touches process memory. It follows the runtime's own loader
// (runtime/vdso_linux.go): first PT_LOAD for the load bias, PT_DYNAMIC
// for the tables, DT_VERDEF/DT_VERSYM for the symbol version.

// ELF constants (elf.h). Only 64-bit little-endian images are accepted:
// that covers every vDSO this package calls (amd64) or may call (arm64).
const (
	elfHeaderSize = 64
	elfPhdrSize   = 56
	elfSymSize    = 24
	elfDynSize    = 16

	ptLoad    = 1
	ptDynamic = 2

	dtNull    = 0
	dtHash    = 4
	dtStrtab  = 5
	dtSymtab  = 6
	dtStrsz   = 10
	dtSyment  = 11
	dtGNUHash = 0x6ffffef5
	dtVersym  = 0x6ffffff0
	dtVerdef  = 0x6ffffffc

	sttNotype = 0
	sttFunc   = 2
	stbGlobal = 1
	stbWeak   = 2
	shnUndef  = 0

	verFlgBase = 1

	emX86_64  = 62
	emAArch64 = 183

	// maxImageSize bounds what imageSize accepts. A vDSO is a few pages;
	// anything larger is a corrupt header.
	maxImageSize = 1 << 20
)

// symbolKey names the clock_gettime entry of one architecture's vDSO.
type symbolKey struct {
	Machine uint16 // e_machine the image must have; 0 accepts any
	Name    string
	Version string // "" accepts any version
}

// Symbol keys from vdso(7) and the runtime's vdso_linux_*.go.
var (
	keyAMD64 = symbolKey{Machine: emX86_64, Name: "__vdso_clock_gettime", Version: "LINUX_2.6"}
	keyARM64 = symbolKey{Machine: emAArch64, Name: "__kernel_clock_gettime", Version: "LINUX_2.6.39"}
)

// elfReader reads little-endian fields with bounds checks. The first
// out-of-range read sets err; later reads return 0, so a parse can be
// written straight through and checked once.
type elfReader struct {
	b   []byte
	err error
}

func (r *elfReader) in(off, n uint64) bool {
	return off <= uint64(len(r.b)) && uint64(len(r.b))-off >= n
}

func (r *elfReader) fail(what string, off uint64) {
	if r.err == nil {
		r.err = fmt.Errorf("reading %s at offset %#x of a %d-byte image: %w", what, off, len(r.b), ErrMalformed)
	}
}

func (r *elfReader) u16(what string, off uint64) uint16 {
	if r.err != nil || !r.in(off, 2) {
		r.fail(what, off)
		return 0
	}
	return binary.LittleEndian.Uint16(r.b[off:])
}

func (r *elfReader) u32(what string, off uint64) uint32 {
	if r.err != nil || !r.in(off, 4) {
		r.fail(what, off)
		return 0
	}
	return binary.LittleEndian.Uint32(r.b[off:])
}

func (r *elfReader) u64(what string, off uint64) uint64 {
	if r.err != nil || !r.in(off, 8) {
		r.fail(what, off)
		return 0
	}
	return binary.LittleEndian.Uint64(r.b[off:])
}

// cstr reports whether the NUL-terminated string at off, which must end
// before limit, equals s.
func (r *elfReader) cstrEq(what string, off, limit uint64, s string) bool {
	if limit > uint64(len(r.b)) {
		limit = uint64(len(r.b))
	}
	n := uint64(len(s))
	if r.err != nil || off > limit || limit-off < n+1 {
		if r.err == nil && off >= limit {
			r.fail(what, off)
		}
		return false
	}
	return string(r.b[off:off+n]) == s && r.b[off+n] == 0
}

// header holds the ELF header fields the loader uses.
type header struct {
	machine                            uint16
	phoff, shoff                       uint64
	phentsize, phnum, shnum, shentsize uint16
	loadVaddr, loadOff, loadN          uint64 // first PT_LOAD: p_vaddr, p_offset, p_filesz
	dynOff, dynN                       uint64 // PT_DYNAMIC: p_offset, p_filesz
	haveLoad, haveDyn                  bool
}

// parseHeader checks the ELF identification and reads the header and the
// program headers from b.
func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < elfHeaderSize {
		return h, fmt.Errorf("reading ELF header: %d bytes, need %d: %w", len(b), elfHeaderSize, ErrMalformed)
	}
	if string(b[:4]) != "\x7fELF" {
		return h, fmt.Errorf("reading ELF header: bad magic %q: %w", b[:4], ErrMalformed)
	}
	if b[4] != 2 || b[5] != 1 {
		return h, fmt.Errorf("reading ELF header: class %d, data %d; want 64-bit little-endian (2, 1): %w", b[4], b[5], ErrMalformed)
	}
	r := &elfReader{b: b}
	h.machine = r.u16("e_machine", 18)
	h.phoff = r.u64("e_phoff", 32)
	h.shoff = r.u64("e_shoff", 40)
	h.phentsize = r.u16("e_phentsize", 54)
	phentsize := h.phentsize
	h.phnum = r.u16("e_phnum", 56)
	h.shentsize = r.u16("e_shentsize", 58)
	h.shnum = r.u16("e_shnum", 60)
	if h.phnum > 0 && phentsize < elfPhdrSize {
		return h, fmt.Errorf("reading ELF header: e_phentsize %d < %d: %w", phentsize, elfPhdrSize, ErrMalformed)
	}
	for i := uint64(0); i < uint64(h.phnum) && r.err == nil; i++ {
		p := h.phoff + i*uint64(phentsize)
		if p < h.phoff {
			r.fail("program header", p)
			break
		}
		switch r.u32("p_type", p) {
		case ptLoad:
			if !h.haveLoad {
				h.haveLoad = true
				h.loadOff = r.u64("p_offset", p+8)
				h.loadVaddr = r.u64("p_vaddr", p+16)
				h.loadN = r.u64("p_filesz", p+32)
			}
		case ptDynamic:
			h.haveDyn = true
			h.dynOff = r.u64("p_offset", p+8)
			h.dynN = r.u64("p_filesz", p+32)
		}
	}
	if r.err != nil {
		return h, r.err
	}
	if !h.haveLoad {
		return h, fmt.Errorf("reading program headers: no PT_LOAD segment: %w", ErrMalformed)
	}
	return h, nil
}

// imageSize returns the length of the ELF file whose first bytes are head
// (at least the ELF header and the program headers): the end of the
// furthest of the program header table, the section header table and
// the first PT_LOAD segment. The kernel maps the whole vDSO file, so this
// many bytes are readable from AT_SYSINFO_EHDR.
func imageSize(head []byte) (int, error) {
	h, err := parseHeader(head)
	if err != nil {
		return 0, err
	}
	end := uint64(elfHeaderSize)
	grow := func(off, n uint64) bool {
		if off > maxImageSize || n > maxImageSize {
			return false
		}
		end = max(end, off+n)
		return end <= maxImageSize
	}
	ok := grow(h.phoff, uint64(h.phnum)*uint64(h.phentsize)) &&
		grow(h.loadOff, h.loadN) &&
		(h.shnum == 0 || grow(h.shoff, uint64(h.shnum)*uint64(h.shentsize)))
	if !ok {
		return 0, fmt.Errorf("sizing ELF image: extent beyond %d bytes: %w", maxImageSize, ErrMalformed)
	}
	return int(end), nil
}

// findSymbol returns the offset, from the start of img, of the function
// k.Name defined at version k.Version in the vDSO image img. It checks
// that the address lies inside the image's loaded segment, so a caller
// that adds the offset to the mapping's base calls code of the vDSO and
// nothing else. It returns an error wrapping ErrMalformed or
// ErrSymbolNotFound, and never panics on any input.
func findSymbol(img []byte, k symbolKey) (uint64, error) {
	h, err := parseHeader(img)
	if err != nil {
		return 0, err
	}
	if k.Machine != 0 && h.machine != k.Machine {
		return 0, fmt.Errorf("checking ELF machine: image is for e_machine %d, want %d: %w", h.machine, k.Machine, ErrSymbolNotFound)
	}
	if !h.haveDyn {
		return 0, fmt.Errorf("reading program headers: no PT_DYNAMIC segment: %w", ErrMalformed)
	}
	r := &elfReader{b: img}

	// toOff maps a virtual address inside the first PT_LOAD to a file offset.
	toOff := func(what string, v uint64) uint64 {
		if v < h.loadVaddr || v-h.loadVaddr >= h.loadN {
			r.fail(what+" address outside PT_LOAD", v)
			return 0
		}
		return v - h.loadVaddr + h.loadOff
	}

	var strtab, strsz, symtab, syment, hash, gnuHash, versym, verdef uint64
	var haveStr, haveSym, haveHash, haveGNU, haveVersym, haveVerdef bool
	for i := uint64(0); i < h.dynN/elfDynSize && r.err == nil; i++ {
		p := h.dynOff + i*elfDynSize
		tag := r.u64("d_tag", p)
		val := r.u64("d_val", p+8)
		if r.err != nil || tag == dtNull {
			break
		}
		switch tag {
		case dtStrtab:
			strtab, haveStr = toOff("DT_STRTAB", val), true
		case dtStrsz:
			strsz = val
		case dtSymtab:
			symtab, haveSym = toOff("DT_SYMTAB", val), true
		case dtSyment:
			syment = val
		case dtHash:
			hash, haveHash = toOff("DT_HASH", val), true
		case dtGNUHash:
			gnuHash, haveGNU = toOff("DT_GNU_HASH", val), true
		case dtVersym:
			versym, haveVersym = toOff("DT_VERSYM", val), true
		case dtVerdef:
			verdef, haveVerdef = toOff("DT_VERDEF", val), true
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	if !haveStr || !haveSym || (!haveHash && !haveGNU) {
		return 0, fmt.Errorf("reading dynamic table: need DT_STRTAB, DT_SYMTAB and DT_HASH or DT_GNU_HASH: %w", ErrMalformed)
	}
	if syment != 0 && syment != elfSymSize {
		return 0, fmt.Errorf("reading dynamic table: DT_SYMENT %d, want %d: %w", syment, elfSymSize, ErrMalformed)
	}
	if strtab >= uint64(len(img)) {
		return 0, fmt.Errorf("reading dynamic table: DT_STRTAB at %#x outside the %d-byte image: %w", strtab, len(img), ErrMalformed)
	}
	strEnd := uint64(len(img))
	if strsz != 0 && strsz <= strEnd-strtab {
		strEnd = strtab + strsz
	}

	nsym, err := symbolCount(r, haveHash, hash, gnuHash)
	if err != nil {
		return 0, err
	}
	if !r.in(symtab, nsym*elfSymSize) {
		return 0, fmt.Errorf("reading symbol table: %d symbols at %#x overrun the %d-byte image: %w", nsym, symtab, len(img), ErrMalformed)
	}

	// The version index the symbol must carry; 0 means do not check (the
	// runtime does the same when the image has no version tables).
	var verIndex uint16
	if k.Version != "" && haveVerdef && haveVersym {
		verIndex, err = findVersion(r, verdef, strtab, strEnd, k.Version)
		if err != nil {
			return 0, err
		}
	}

	for i := uint64(1); i < nsym; i++ {
		s := symtab + i*elfSymSize
		name := r.u32("st_name", s)
		info := img[s+4]
		shndx := r.u16("st_shndx", s+6)
		value := r.u64("st_value", s+8)
		if r.err != nil {
			return 0, r.err
		}
		typ, bind := info&0xf, info>>4
		if typ != sttFunc && typ != sttNotype || bind != stbGlobal && bind != stbWeak || shndx == shnUndef {
			continue
		}
		if !r.cstrEq("symbol name", strtab+uint64(name), strEnd, k.Name) {
			if r.err != nil {
				return 0, r.err
			}
			continue
		}
		if verIndex != 0 && r.u16("versym", versym+2*i)&0x7fff != verIndex {
			if r.err != nil {
				return 0, r.err
			}
			continue
		}
		off := toOff("symbol "+k.Name, value)
		if r.err != nil {
			return 0, r.err
		}
		if off >= uint64(len(img)) {
			return 0, fmt.Errorf("resolving %s: offset %#x outside the %d-byte image: %w", k.Name, off, len(img), ErrMalformed)
		}
		return off, nil
	}
	return 0, fmt.Errorf("looking up %s@%s among %d symbols: %w", k.Name, k.Version, nsym, ErrSymbolNotFound)
}

// symbolCount returns the number of dynamic symbols, from DT_HASH's
// nchain or, failing that, by walking DT_GNU_HASH to its last chain.
func symbolCount(r *elfReader, haveHash bool, hash, gnuHash uint64) (uint64, error) {
	limit := uint64(len(r.b)) / elfSymSize
	if haveHash {
		n := uint64(r.u32("DT_HASH nchain", hash+4))
		if r.err != nil {
			return 0, r.err
		}
		if n > limit {
			return 0, fmt.Errorf("reading DT_HASH: nchain %d exceeds what the image can hold: %w", n, ErrMalformed)
		}
		return n, nil
	}
	nbuckets := uint64(r.u32("DT_GNU_HASH nbuckets", gnuHash))
	symOff := uint64(r.u32("DT_GNU_HASH symoffset", gnuHash+4))
	bloomSize := uint64(r.u32("DT_GNU_HASH bloom_size", gnuHash+8))
	if r.err != nil {
		return 0, r.err
	}
	buckets := gnuHash + 16 + bloomSize*8
	if !r.in(buckets, nbuckets*4) {
		return 0, fmt.Errorf("reading DT_GNU_HASH: %d buckets overrun the image: %w", nbuckets, ErrMalformed)
	}
	chains := buckets + nbuckets*4
	var last uint64
	for i := uint64(0); i < nbuckets; i++ {
		last = max(last, uint64(r.u32("DT_GNU_HASH bucket", buckets+4*i)))
	}
	if last < symOff {
		return min(symOff, limit), nil
	}
	for {
		h := r.u32("DT_GNU_HASH chain", chains+4*(last-symOff))
		if r.err != nil {
			return 0, r.err
		}
		last++
		if h&1 != 0 {
			break
		}
	}
	if last > limit {
		return 0, fmt.Errorf("reading DT_GNU_HASH: %d symbols exceed what the image can hold: %w", last, ErrMalformed)
	}
	return last, nil
}

// findVersion walks the DT_VERDEF list and returns the index of version.
func findVersion(r *elfReader, verdef, strtab, strEnd uint64, version string) (uint16, error) {
	def := verdef
	for range 1 << 12 {
		flags := r.u16("vd_flags", def+2)
		ndx := r.u16("vd_ndx", def+4)
		aux := r.u32("vd_aux", def+12)
		next := r.u32("vd_next", def+16)
		if r.err != nil {
			return 0, r.err
		}
		if flags&verFlgBase == 0 {
			name := r.u32("vda_name", def+uint64(aux))
			if r.cstrEq("version name", strtab+uint64(name), strEnd, version) {
				return ndx & 0x7fff, nil
			}
			if r.err != nil {
				return 0, r.err
			}
		}
		if next == 0 {
			break
		}
		def += uint64(next)
	}
	return 0, fmt.Errorf("looking up version %s in DT_VERDEF: %w", version, ErrSymbolNotFound)
}
