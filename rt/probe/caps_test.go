package probe

import (
	"encoding/binary"
	"errors"
	"testing"
)

func capBlob(magic uint32, words ...uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

func Test_decodeFileCaps(t *testing.T) {
	niceLock := uint32(1<<CapSysNice | 1<<CapIPCLock)
	tests := []struct {
		name    string
		in      []byte
		want    FileCapabilities
		wantErr bool
	}{
		{name: "v2 +ep", in: capBlob(0x02000001, niceLock, 0, 0, 0),
			want: FileCapabilities{Revision: 2, Permitted: uint64(niceLock), Effective: true}},
		{name: "v2 +p only", in: capBlob(0x02000000, niceLock, 0, 0, 0),
			want: FileCapabilities{Revision: 2, Permitted: uint64(niceLock)}},
		{name: "v2 high word", in: capBlob(0x02000001, 0, 0, 1<<(39-32), 0),
			want: FileCapabilities{Revision: 2, Permitted: 1 << 39, Effective: true}},
		{name: "v3 rootid", in: capBlob(0x03000001, niceLock, 1, 0, 0, 100000),
			want: FileCapabilities{Revision: 3, Permitted: uint64(niceLock), Inheritable: 1, Effective: true, RootID: 100000}},
		{name: "v1", in: capBlob(0x01000000, 1<<CapSysNice, 0),
			want: FileCapabilities{Revision: 1, Permitted: 1 << CapSysNice}},
		{name: "empty", in: nil, wantErr: true},
		{name: "short magic", in: []byte{1, 2}, wantErr: true},
		{name: "unknown revision", in: capBlob(0x04000000, 0, 0, 0, 0), wantErr: true},
		{name: "v2 truncated", in: capBlob(0x02000001, niceLock, 0), wantErr: true},
		{name: "v3 as v2 length", in: capBlob(0x03000001, niceLock, 0, 0, 0), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeFileCaps(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFileCapabilitiesString(t *testing.T) {
	f := FileCapabilities{Revision: 2, Permitted: 1<<CapSysNice | 1<<CapIPCLock, Effective: true}
	if got, want := f.String(), "cap_ipc_lock,cap_sys_nice=ep"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if !f.Has(CapSysNice) || f.Has(0) {
		t.Fatalf("Has: wrong answer for %v", f)
	}
	if got := CapSetString(1 << 63); got != "cap_63" {
		t.Fatalf("CapSetString(1<<63) = %q", got)
	}
}

func FuzzDecodeFileCaps(f *testing.F) {
	f.Add(capBlob(0x02000001, 1<<23, 0, 0, 0))
	f.Add(capBlob(0x03000001, 1<<23, 0, 0, 0, 5))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeFileCaps(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if c.Revision < 1 || c.Revision > 3 {
			t.Fatalf("decoded revision %d", c.Revision)
		}
	})
}
