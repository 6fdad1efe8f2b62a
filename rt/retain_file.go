package rt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

// The retained-data file: two slots of retainSlotSize bytes, each a
// retainHeaderSize-byte header followed by the value and zero padding.
// Slots are whole multiples of 4 KiB, so that a write of one never
// touches a disk block of the other.
//
// Header, little-endian:
//
//	0   magic "rtcRETN\x00"
//	8   format version (uint32)
//	12  header size (uint32)
//	16  value size in bytes (uint64)
//	24  layout fingerprint of the value's type (uint64, shm.TypeOf)
//	32  sequence number (uint64), one more with every save
//	40  save time, Unix ns (int64)
//	48  CRC-32C (Castagnoli) of the header, with this field zero, and the value
//	52  zero
//	64  the type's name, NUL-padded (64 bytes)
const (
	retainMagic      = "rtcRETN\x00"
	retainVersion    = 1
	retainHeaderSize = 128
	retainBlock      = 4096
	retainCRCOff     = 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// retainSlotSize is the size of one slot for a value of size bytes.
func retainSlotSize(size int) int {
	return (retainHeaderSize + size + retainBlock - 1) / retainBlock * retainBlock
}

// retainSlot is a decoded slot header.
type retainSlot struct {
	Seq      uint64
	SavedAt  time.Time
	Size     int
	Hash     uint64
	TypeName string
}

// Outcomes of parseRetainSlot.
const (
	slotValid = iota // checks out; may still hold another type
	slotEmpty        // never written (all zero)
	slotBad          // torn, truncated or corrupt
)

// parseRetainSlot decodes and checks one slot. It returns the header and
// the value's bytes when the slot is valid, or why it is not.
func parseRetainSlot(b []byte) (h retainSlot, value []byte, state int, why string) {
	if len(b) < retainHeaderSize {
		if len(b) == 0 || allZero(b) {
			return h, nil, slotEmpty, "empty"
		}
		return h, nil, slotBad, fmt.Sprintf("truncated: %d bytes, less than a header", len(b))
	}
	hdr := b[:retainHeaderSize]
	if string(hdr[:8]) != retainMagic {
		if allZero(hdr) {
			return h, nil, slotEmpty, "empty"
		}
		return h, nil, slotBad, "bad magic"
	}
	le := binary.LittleEndian
	if v := le.Uint32(hdr[8:]); v != retainVersion {
		return h, nil, slotBad, fmt.Sprintf("format version %d, want %d", v, retainVersion)
	}
	if hs := le.Uint32(hdr[12:]); hs != retainHeaderSize {
		return h, nil, slotBad, fmt.Sprintf("header size %d, want %d", hs, retainHeaderSize)
	}
	size := le.Uint64(hdr[16:])
	if size > uint64(len(b)-retainHeaderSize) {
		return h, nil, slotBad, fmt.Sprintf("truncated: value of %d bytes, %d left in the slot", size, len(b)-retainHeaderSize)
	}
	value = b[retainHeaderSize : retainHeaderSize+int(size)]
	if got, want := retainCRC(hdr, value), le.Uint32(hdr[retainCRCOff:]); got != want {
		return h, nil, slotBad, fmt.Sprintf("checksum mismatch (CRC-32C %08x, header says %08x)", got, want)
	}
	h = retainSlot{
		Seq:      le.Uint64(hdr[32:]),
		SavedAt:  time.Unix(0, int64(le.Uint64(hdr[40:]))),
		Size:     int(size),
		Hash:     le.Uint64(hdr[24:]),
		TypeName: cString(hdr[64:128]),
	}
	return h, value, slotValid, ""
}

// retainCRC is the CRC-32C of a header (its CRC field taken as zero) and
// the value.
func retainCRC(hdr, value []byte) uint32 {
	c := crc32.Update(0, castagnoli, hdr[:retainCRCOff])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	c = crc32.Update(c, castagnoli, hdr[retainCRCOff+4:retainHeaderSize])
	return crc32.Update(c, castagnoli, value)
}

// encodeRetainSlot writes a slot for value into b (a whole slot).
func encodeRetainSlot(b []byte, ti shm.TypeInfo, seq uint64, at time.Time, value []byte) {
	clear(b)
	le := binary.LittleEndian
	copy(b, retainMagic)
	le.PutUint32(b[8:], retainVersion)
	le.PutUint32(b[12:], retainHeaderSize)
	le.PutUint64(b[16:], uint64(len(value)))
	le.PutUint64(b[24:], ti.Fingerprint)
	le.PutUint64(b[32:], seq)
	le.PutUint64(b[40:], uint64(at.UnixNano()))
	copy(b[64:127], ti.Name)
	copy(b[retainHeaderSize:], value)
	le.PutUint32(b[retainCRCOff:], retainCRC(b[:retainHeaderSize], value))
}

func allZero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// retainFile is the file of one Retain, in the supervisor.
type retainFile struct {
	path     string
	ti       shm.TypeInfo
	slotSize int

	f    *os.File
	buf  []byte // one slot, reused by every save
	seq  uint64 // sequence number of the newest valid copy
	slot int    // its slot, -1 when none
}

func newRetainFile(path string, ti shm.TypeInfo) *retainFile {
	return &retainFile{path: path, ti: ti, slotSize: retainSlotSize(ti.Size), slot: -1}
}

// load reads the file and copies the newest valid copy of the right type
// into dst. No file is no error (RetainLoad.OK false). A valid copy of
// another type fails with an error matching shm.ErrMismatch; a file with
// no valid copy with one matching ErrRetainCorrupt. A bad slot beside a
// good one is not an error: it is what a crash during a save leaves.
func (rf *retainFile) load(dst []byte) (RetainLoad, error) {
	ld := RetainLoad{Slot: -1}
	rf.seq, rf.slot = 0, -1
	data, err := os.ReadFile(rf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return ld, nil
	}
	if err != nil {
		return ld, fmt.Errorf("reading %s: %w", rf.path, err)
	}
	// Slot 1 starts at our slot size; a file written for a type of
	// another size is twice its own slot size long.
	off1 := rf.slotSize
	if n := len(data); n != 2*rf.slotSize && n > 0 && n%(2*retainBlock) == 0 {
		off1 = n / 2
	}
	slots := [2][]byte{data[:min(off1, len(data))], data[min(off1, len(data)):]}
	var whys [2]string
	best := -1
	var bestHdr retainSlot
	var bestVal []byte
	for i, b := range slots {
		if i == 1 && len(b) > off1 {
			b = b[:off1]
		}
		h, val, state, why := parseRetainSlot(b)
		switch state {
		case slotEmpty:
			whys[i] = why
			continue
		case slotBad:
			whys[i] = why
			continue
		}
		if h.Size != rf.ti.Size || h.Hash != rf.ti.Fingerprint {
			return ld, fmt.Errorf("%s slot %d holds a %s (%d bytes, fingerprint %016x), not a %s (%d bytes, fingerprint %016x): "+
				"the type changed; start with Origin to discard the file: %w",
				rf.path, i, h.TypeName, h.Size, h.Hash, rf.ti.Name, rf.ti.Size, rf.ti.Fingerprint, shm.ErrMismatch)
		}
		if best < 0 || h.Seq > bestHdr.Seq {
			best, bestHdr, bestVal = i, h, val
		}
	}
	if best < 0 {
		if whys[0] == "empty" && whys[1] == "empty" {
			return ld, nil
		}
		return ld, fmt.Errorf("%s: slot 0: %s; slot 1: %s: %w", rf.path, whys[0], whys[1], ErrRetainCorrupt)
	}
	copy(dst, bestVal)
	rf.seq, rf.slot = bestHdr.Seq, best
	return RetainLoad{OK: true, Seq: bestHdr.Seq, SavedAt: bestHdr.SavedAt, Slot: best}, nil
}

// save writes value as the next copy into the slot that does not hold
// the newest valid one, and fsyncs it. It creates the file (at its full
// size, then fsyncs the directory, so that the file's name survives a
// power cut too) on the first save.
func (rf *retainFile) save(value []byte, at time.Time) error {
	if rf.f == nil {
		if err := rf.open(); err != nil {
			return err
		}
	}
	if rf.buf == nil {
		rf.buf = make([]byte, rf.slotSize)
	}
	slot := 0
	if rf.slot == 0 {
		slot = 1
	}
	seq := rf.seq + 1
	encodeRetainSlot(rf.buf, rf.ti, seq, at, value)
	if _, err := rf.f.WriteAt(rf.buf, int64(slot*rf.slotSize)); err != nil {
		return fmt.Errorf("writing %s slot %d: %w", rf.path, slot, err)
	}
	if err := rf.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", rf.path, err)
	}
	rf.seq, rf.slot = seq, slot
	return nil
}

// open opens the file for saves, creating it if needed.
func (rf *retainFile) open() error {
	if rf.f != nil {
		return nil
	}
	f, err := os.OpenFile(rf.path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(rf.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", rf.path, err)
		}
		if err := f.Truncate(int64(2 * rf.slotSize)); err != nil {
			f.Close()
			return fmt.Errorf("sizing %s: %w", rf.path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("syncing %s: %w", rf.path, err)
		}
		if err := syncDir(filepath.Dir(rf.path)); err != nil {
			f.Close()
			return err
		}
	} else if err != nil {
		return fmt.Errorf("opening %s: %w", rf.path, err)
	} else if st, err := f.Stat(); err == nil && st.Size() != int64(2*rf.slotSize) {
		// Another type's file (refused by load) or a truncated one:
		// bring it to our size; a slot we do not write stays as it is.
		if err := f.Truncate(int64(2 * rf.slotSize)); err != nil {
			f.Close()
			return fmt.Errorf("sizing %s: %w", rf.path, err)
		}
	}
	rf.f = f
	return nil
}

// checkDir checks that the file's directory exists.
func (rf *retainFile) checkDir() error {
	dir := filepath.Dir(rf.path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory of %s: %w", rf.path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("directory of %s: %s is not a directory: %w", rf.path, dir, ErrInvalid)
	}
	return nil
}

// wipe deletes the file, for an origin start, and reports whether there
// was one.
func (rf *retainFile) wipe() (bool, error) {
	rf.close()
	rf.seq, rf.slot = 0, -1
	err := os.Remove(rf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting %s: %w", rf.path, err)
	}
	return true, syncDir(filepath.Dir(rf.path))
}

func (rf *retainFile) close() error {
	if rf.f == nil {
		return nil
	}
	err := rf.f.Close()
	rf.f = nil
	return err
}

// syncDir fsyncs a directory, so that a file created or deleted in it
// stays so after a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
