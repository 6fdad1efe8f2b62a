package vdso

import "encoding/binary"

// This file builds small but complete vDSO-like ELF images for the parser
// tests: header, PT_LOAD and PT_DYNAMIC, .dynstr, .dynsym, DT_HASH or
// DT_GNU_HASH, .gnu.version and .gnu.version_d, .dynamic, and some text.

type testSym struct {
	name    string
	version int    // index into testImage.versions, +2 (1 is the base); 0 = none
	typ     byte   // sttFunc if zero
	bind    byte   // stbGlobal if zero
	shndx   uint16 // 12 if zero
	value   uint64 // offset into the text; the builder adds the text's address
	rawVal  bool   // value is an absolute address, not a text offset
	notype  bool   // STT_NOTYPE
	local   bool   // STB_LOCAL
	undef   bool   // SHN_UNDEF
}

type testImage struct {
	machine   uint16
	loadVaddr uint64
	versions  []string // LINUX_2.6 ...; the base version is added
	syms      []testSym
	gnuHash   bool // DT_GNU_HASH instead of DT_HASH
	noVersion bool // omit DT_VERSYM and DT_VERDEF
}

type layout struct {
	img          []byte
	textOff      uint64 // file offset of the text
	dynOff, symO uint64
}

func gnuHashOf(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return h
}

func align8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// build lays out the image. All file offsets equal vaddr-loadVaddr.
func (t testImage) build() layout {
	le := binary.LittleEndian
	const hdrEnd = elfHeaderSize + 2*elfPhdrSize
	b := make([]byte, hdrEnd)

	// .dynstr
	strOff := uint64(len(b))
	b = append(b, 0)
	addStr := func(s string) uint32 {
		o := uint64(len(b)) - strOff
		b = append(b, s...)
		b = append(b, 0)
		return uint32(o)
	}
	symNames := make([]uint32, len(t.syms))
	for i, s := range t.syms {
		symNames[i] = addStr(s.name)
	}
	baseName := addStr("linux-vdso.so.1")
	verNames := make([]uint32, len(t.versions))
	for i, v := range t.versions {
		verNames[i] = addStr(v)
	}
	strSz := uint64(len(b)) - strOff
	b = align8(b)

	// Reserve the text's place at the end: compute its offset afterwards.
	nsym := uint64(len(t.syms) + 1)

	// .dynsym (filled once the text offset is known)
	symOff := uint64(len(b))
	b = append(b, make([]byte, nsym*elfSymSize)...)

	// hash table
	hashOff := uint64(len(b))
	if t.gnuHash {
		// nbuckets=1, symoffset=1, bloom_size=1, bloom_shift=6
		for _, v := range []uint32{1, 1, 1, 6} {
			b = le.AppendUint32(b, v)
		}
		b = le.AppendUint64(b, ^uint64(0))
		if nsym > 1 {
			b = le.AppendUint32(b, 1)
		} else {
			b = le.AppendUint32(b, 0)
		}
		for i, s := range t.syms {
			h := gnuHashOf(s.name) &^ 1
			if i == len(t.syms)-1 {
				h |= 1
			}
			b = le.AppendUint32(b, h)
		}
	} else {
		b = le.AppendUint32(b, 1)              // nbucket
		b = le.AppendUint32(b, uint32(nsym))   // nchain
		b = le.AppendUint32(b, uint32(nsym-1)) // bucket[0]
		for i := range nsym {
			c := uint32(0)
			if i > 0 {
				c = uint32(i - 1)
			}
			b = le.AppendUint32(b, c)
		}
	}
	b = align8(b)

	// .gnu.version
	versymOff := uint64(len(b))
	b = le.AppendUint16(b, 0)
	for _, s := range t.syms {
		b = le.AppendUint16(b, uint16(s.version))
	}
	b = align8(b)

	// .gnu.version_d: base entry, then one per version.
	verdefOff := uint64(len(b))
	defs := append([]uint32{baseName}, verNames...)
	for i, name := range defs {
		flags := uint16(0)
		if i == 0 {
			flags = verFlgBase
		}
		next := uint32(28)
		if i == len(defs)-1 {
			next = 0
		}
		b = le.AppendUint16(b, 1)           // vd_version
		b = le.AppendUint16(b, flags)       // vd_flags
		b = le.AppendUint16(b, uint16(i+1)) // vd_ndx
		b = le.AppendUint16(b, 1)           // vd_cnt
		b = le.AppendUint32(b, 0)           // vd_hash (unused by the parser)
		b = le.AppendUint32(b, 20)          // vd_aux
		b = le.AppendUint32(b, next)        // vd_next
		b = le.AppendUint32(b, name)        // vda_name
		b = le.AppendUint32(b, 0)           // vda_next
	}
	b = align8(b)

	// .dynamic
	dynOff := uint64(len(b))
	dyn := [][2]uint64{
		{dtStrtab, t.loadVaddr + strOff},
		{dtStrsz, strSz},
		{dtSymtab, t.loadVaddr + symOff},
		{dtSyment, elfSymSize},
	}
	if t.gnuHash {
		dyn = append(dyn, [2]uint64{dtGNUHash, t.loadVaddr + hashOff})
	} else {
		dyn = append(dyn, [2]uint64{dtHash, t.loadVaddr + hashOff})
	}
	if !t.noVersion {
		dyn = append(dyn, [2]uint64{dtVersym, t.loadVaddr + versymOff}, [2]uint64{dtVerdef, t.loadVaddr + verdefOff})
	}
	dyn = append(dyn, [2]uint64{dtNull, 0})
	for _, d := range dyn {
		b = le.AppendUint64(b, d[0])
		b = le.AppendUint64(b, d[1])
	}
	dynLen := uint64(len(b)) - dynOff

	// text
	textOff := uint64(len(b))
	b = append(b, make([]byte, 256)...)

	// symbols
	for i, s := range t.syms {
		o := symOff + uint64(i+1)*elfSymSize
		typ, bind, shndx := s.typ, s.bind, s.shndx
		if typ == 0 {
			typ = sttFunc
		}
		if bind == 0 {
			bind = stbGlobal
		}
		if shndx == 0 {
			shndx = 12
		}
		if s.notype {
			typ = sttNotype
		}
		if s.local {
			bind = 0
		}
		if s.undef {
			shndx = shnUndef
		}
		val := t.loadVaddr + textOff + s.value
		if s.rawVal {
			val = s.value
		}
		le.PutUint32(b[o:], symNames[i])
		b[o+4] = bind<<4 | typ
		le.PutUint16(b[o+6:], shndx)
		le.PutUint64(b[o+8:], val)
		le.PutUint64(b[o+16:], 16)
	}

	// ELF header
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1
	le.PutUint16(b[16:], 3) // ET_DYN
	le.PutUint16(b[18:], t.machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], elfHeaderSize) // e_phoff
	le.PutUint16(b[52:], elfHeaderSize)
	le.PutUint16(b[54:], elfPhdrSize)
	le.PutUint16(b[56:], 2)
	le.PutUint16(b[58:], 64)

	// PT_LOAD covering the file, PT_DYNAMIC
	ph := b[elfHeaderSize:]
	le.PutUint32(ph[0:], ptLoad)
	le.PutUint32(ph[4:], 5)
	le.PutUint64(ph[8:], 0)
	le.PutUint64(ph[16:], t.loadVaddr)
	le.PutUint64(ph[24:], t.loadVaddr)
	le.PutUint64(ph[32:], uint64(len(b)))
	le.PutUint64(ph[40:], uint64(len(b)))
	le.PutUint64(ph[48:], 0x1000)
	ph = ph[elfPhdrSize:]
	le.PutUint32(ph[0:], ptDynamic)
	le.PutUint32(ph[4:], 4)
	le.PutUint64(ph[8:], dynOff)
	le.PutUint64(ph[16:], t.loadVaddr+dynOff)
	le.PutUint64(ph[24:], t.loadVaddr+dynOff)
	le.PutUint64(ph[32:], dynLen)
	le.PutUint64(ph[40:], dynLen)
	le.PutUint64(ph[48:], 8)

	return layout{img: b, textOff: textOff, dynOff: dynOff, symO: symOff}
}

// amd64Like is an image shaped like the x86-64 vDSO.
func amd64Like() testImage {
	return testImage{
		machine:  emX86_64,
		versions: []string{"LINUX_2.6"},
		syms: []testSym{
			{name: "clock_gettime", version: 2, bind: stbWeak, value: 0x40},
			{name: "__vdso_gettimeofday", version: 2, value: 0x10},
			{name: "LINUX_2.6", version: 2, typ: 1 /* STT_OBJECT */, shndx: 0xfff1},
			{name: "__vdso_clock_gettime", version: 2, value: 0x40},
			{name: "__vdso_getcpu", version: 2, value: 0x80},
		},
	}
}
