package vmtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// Booting Debian's bzImage under TCG spends most of the boot (≈ 20 s of
// ≈ 35 s here) in the kernel's own xz decompressor, which runs slowly
// under emulation. The kernel is built with CONFIG_PVH, so QEMU can
// instead load the uncompressed vmlinux ELF directly through its PVH
// entry point. The harness decompresses it once, on the host, into the
// cache.

// bzImage header offsets (Documentation/arch/x86/boot.rst).
const (
	bzSetupSects    = 0x1f1
	bzHeaderMagic   = 0x202 // "HdrS"
	bzVersion       = 0x206
	bzPayloadOffset = 0x248
	bzPayloadLength = 0x24c

	// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY, the note QEMU
	// looks for to boot an ELF kernel through PVH.
	xenElfnotePhys32Entry = 18
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

// bzPayload returns the compressed kernel inside a bzImage and the
// uncompressed size the kernel build appended to it.
func bzPayload(img []byte) (payload []byte, size uint32, err error) {
	if len(img) < 0x250 || string(img[bzHeaderMagic:bzHeaderMagic+4]) != "HdrS" {
		return nil, 0, fmt.Errorf("reading bzImage: no HdrS header: %w", ErrMalformed)
	}
	if v := binary.LittleEndian.Uint16(img[bzVersion:]); v < 0x208 {
		return nil, 0, fmt.Errorf("reading bzImage: boot protocol %#x has no payload fields: %w", v, ErrMalformed)
	}
	setup := int(img[bzSetupSects])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(img[bzPayloadOffset:]))
	n := int(binary.LittleEndian.Uint32(img[bzPayloadLength:]))
	if n < 4 || off < 0 || off+n > len(img) || off+n < off {
		return nil, 0, fmt.Errorf("reading bzImage: payload [%d, +%d) outside the %d-byte file: %w", off, n, len(img), ErrMalformed)
	}
	p := img[off : off+n]
	return p[:n-4], binary.LittleEndian.Uint32(p[n-4:]), nil
}

// extractVmlinux writes the uncompressed vmlinux of the xz-compressed
// bzImage at bz to out, using xz(1). It checks the size the build
// recorded and that the ELF has a PVH entry note.
func extractVmlinux(bz, out string) error {
	img, err := os.ReadFile(bz)
	if err != nil {
		return fmt.Errorf("extracting vmlinux: %w", err)
	}
	payload, size, err := bzPayload(img)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(payload, xzMagic) {
		return fmt.Errorf("extracting vmlinux: payload is not xz (the kernel was built without CONFIG_KERNEL_XZ): %w", ErrUnavailable)
	}
	xz, err := exec.LookPath("xz")
	if err != nil {
		return fmt.Errorf("extracting vmlinux: no xz (apt-get install xz-utils): %w", ErrUnavailable)
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("extracting vmlinux: %w", err)
	}
	defer os.Remove(tmp)
	cmd := exec.Command(xz, "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("extracting vmlinux with xz: %w: %s", err, tail(stderr.Bytes()))
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("extracting vmlinux: %w", err)
	}
	if st.Size() != int64(size) {
		return fmt.Errorf("extracting vmlinux: got %d bytes, the bzImage says %d: %w", st.Size(), size, ErrMalformed)
	}
	ok, err := hasPVHEntry(tmp)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("extracting vmlinux: no PVH entry note (kernel built without CONFIG_PVH): %w", ErrUnavailable)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("extracting vmlinux: %w", err)
	}
	return nil
}

// hasPVHEntry reports whether the ELF file name has a Xen
// PHYS32_ENTRY note, which QEMU needs to boot it with -kernel.
func hasPVHEntry(name string) (bool, error) {
	f, err := elf.Open(name)
	if err != nil {
		return false, fmt.Errorf("reading vmlinux: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			return false, fmt.Errorf("reading vmlinux notes: %w", err)
		}
		if notesHave(b, f.ByteOrder, "Xen", xenElfnotePhys32Entry) {
			return true, nil
		}
	}
	return false, nil
}

// notesHave walks an ELF note segment (namesz, descsz, type, name and
// desc each padded to 4 bytes) looking for a note of name and type.
func notesHave(b []byte, bo binary.ByteOrder, name string, typ uint32) bool {
	align := func(n uint32) int { return int((uint64(n) + 3) &^ 3) }
	for len(b) >= 12 {
		namesz, descsz, t := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		nl, dl := align(namesz), align(descsz)
		if nl < 0 || dl < 0 || nl > len(b) || dl > len(b)-nl {
			return false
		}
		n := string(bytes.TrimRight(b[:namesz], "\x00"))
		if n == name && t == typ {
			return true
		}
		b = b[nl+dl:]
	}
	return false
}
