package probe

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// Capability numbers from linux/capability.h that matter for real time.
const (
	CapIPCLock = 14 // mlock/mlockall beyond RLIMIT_MEMLOCK
	CapSysNice = 23 // SCHED_FIFO beyond RLIMIT_RTPRIO, CPU affinity of others
)

var capNames = map[int]string{
	0: "cap_chown", 1: "cap_dac_override", 2: "cap_dac_read_search", 3: "cap_fowner",
	4: "cap_fsetid", 5: "cap_kill", 6: "cap_setgid", 7: "cap_setuid", 8: "cap_setpcap",
	9: "cap_linux_immutable", 10: "cap_net_bind_service", 11: "cap_net_broadcast",
	12: "cap_net_admin", 13: "cap_net_raw", 14: "cap_ipc_lock", 15: "cap_ipc_owner",
	16: "cap_sys_module", 17: "cap_sys_rawio", 18: "cap_sys_chroot", 19: "cap_sys_ptrace",
	20: "cap_sys_pacct", 21: "cap_sys_admin", 22: "cap_sys_boot", 23: "cap_sys_nice",
	24: "cap_sys_resource", 25: "cap_sys_time", 26: "cap_sys_tty_config", 27: "cap_mknod",
	28: "cap_lease", 29: "cap_audit_write", 30: "cap_audit_control", 31: "cap_setfcap",
	32: "cap_mac_override", 33: "cap_mac_admin", 34: "cap_syslog", 35: "cap_wake_alarm",
	36: "cap_block_suspend", 37: "cap_audit_read", 38: "cap_perfmon", 39: "cap_bpf",
	40: "cap_checkpoint_restore",
}

// CapName returns the lowercase name of capability c as setcap spells it,
// e.g. "cap_sys_nice", or "cap_<n>" for numbers it does not know.
func CapName(c int) string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return fmt.Sprintf("cap_%d", c)
}

// CapSetString lists the capabilities in mask by name, comma-separated,
// in setcap's order; "" for an empty mask.
func CapSetString(mask uint64) string {
	var names []string
	for mask != 0 {
		c := bits.TrailingZeros64(mask)
		names = append(names, CapName(c))
		mask &^= 1 << uint(c)
	}
	return strings.Join(names, ",")
}

// FileCapabilities is the decoded security.capability attribute of a file
// (struct vfs_cap_data / vfs_ns_cap_data in linux/capability.h).
type FileCapabilities struct {
	// Revision is 1, 2 or 3 (3 adds the namespace root UID).
	Revision int
	// Permitted and Inheritable are capability bit masks.
	Permitted, Inheritable uint64
	// Effective means the permitted set becomes effective at exec ("+ep").
	Effective bool
	// RootID is the user namespace root UID of a revision-3 attribute, 0 otherwise.
	RootID uint32
}

// Has reports whether capability c is in the permitted set.
func (f FileCapabilities) Has(c int) bool {
	return c >= 0 && c < 64 && f.Permitted&(1<<uint(c)) != 0
}

// String renders the capabilities the way getcap prints them,
// e.g. "cap_ipc_lock,cap_sys_nice=ep".
func (f FileCapabilities) String() string {
	if f.Permitted == 0 && f.Inheritable == 0 {
		return "(none)"
	}
	var parts []string
	if f.Permitted != 0 {
		flags := "p"
		if f.Effective {
			flags = "ep"
		}
		parts = append(parts, CapSetString(f.Permitted)+"="+flags)
	}
	if f.Inheritable != 0 {
		parts = append(parts, CapSetString(f.Inheritable)+"+i")
	}
	return strings.Join(parts, " ")
}

// Layout of security.capability (little endian): magic_etc, then
// {permitted, inheritable} as 32-bit words, low word first, then for
// revision 3 the root UID.
const (
	vfsCapRevisionMask = 0xFF000000
	vfsCapFlagsEffect  = 0x000001
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
)

// decodeFileCaps decodes a security.capability attribute value.
func decodeFileCaps(b []byte) (FileCapabilities, error) {
	if len(b) < 4 {
		return FileCapabilities{}, fmt.Errorf("decoding security.capability: %d bytes, want at least 4: %w", len(b), ErrMalformed)
	}
	magic := binary.LittleEndian.Uint32(b)
	f := FileCapabilities{Effective: magic&vfsCapFlagsEffect != 0}
	var want int
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
		f.Revision, want = 1, 12
	case vfsCapRevision2:
		f.Revision, want = 2, 20
	case vfsCapRevision3:
		f.Revision, want = 3, 24
	default:
		return FileCapabilities{}, fmt.Errorf("decoding security.capability: unknown revision %#x: %w", magic&vfsCapRevisionMask, ErrMalformed)
	}
	if len(b) != want {
		return FileCapabilities{}, fmt.Errorf("decoding security.capability revision %d: %d bytes, want %d: %w", f.Revision, len(b), want, ErrMalformed)
	}
	f.Permitted = uint64(binary.LittleEndian.Uint32(b[4:]))
	f.Inheritable = uint64(binary.LittleEndian.Uint32(b[8:]))
	if f.Revision >= 2 {
		f.Permitted |= uint64(binary.LittleEndian.Uint32(b[12:])) << 32
		f.Inheritable |= uint64(binary.LittleEndian.Uint32(b[16:])) << 32
	}
	if f.Revision == 3 {
		f.RootID = binary.LittleEndian.Uint32(b[20:])
	}
	return f, nil
}

// Utsname is the kernel identity returned by uname(2).
type Utsname struct {
	Sysname, Nodename, Release, Version, Machine string
}
