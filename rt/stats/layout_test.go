package stats

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// checkFlat walks t and reports every way it is not a flat, pointer-free,
// padding-free block of 8-byte integers.
func checkFlat(t reflect.Type, path string) []string {
	var bad []string
	switch t.Kind() {
	case reflect.Uint64, reflect.Int64:
	case reflect.Array:
		bad = append(bad, checkFlat(t.Elem(), path+"[]")...)
	case reflect.Struct:
		var sum uintptr
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Offset%8 != 0 {
				bad = append(bad, path+"."+f.Name+": offset not a multiple of 8")
			}
			sum += f.Type.Size()
			bad = append(bad, checkFlat(f.Type, path+"."+f.Name)...)
		}
		if sum != t.Size() {
			bad = append(bad, path+": has padding")
		}
	default:
		bad = append(bad, path+": kind "+t.Kind().String()+" (only uint64, int64, arrays and structs of them)")
	}
	return bad
}

func TestStateTypesAreFlat(t *testing.T) {
	for _, v := range []any{Task{}, Series{}, LogHist{}, Worst{}, WorstEntry{}, Windows{}, WindowSlot{}, OverflowLog{}} {
		typ := reflect.TypeOf(v)
		if bad := checkFlat(typ, typ.Name()); len(bad) > 0 {
			t.Errorf("%s is not shared-memory safe:\n%s", typ, strings.Join(bad, "\n"))
		}
	}
}

// The checker itself must catch what it is for.
func TestCheckFlatRejects(t *testing.T) {
	type withPtr struct{ P *uint64 }
	type withSlice struct{ S []uint64 }
	type withString struct{ S string }
	type withInt32 struct{ A, B int32 }
	type withIface struct{ E error }
	type padded struct {
		A uint64
		B [1]struct {
			C uint64
			D int
		}
	}
	for _, v := range []any{withPtr{}, withSlice{}, withString{}, withInt32{}, withIface{}, padded{}} {
		if bad := checkFlat(reflect.TypeOf(v), "x"); len(bad) == 0 {
			t.Errorf("%T passed the flatness check", v)
		}
	}
}

func TestSizesMatchDocumentedLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"LogHist", unsafe.Sizeof(LogHist{}), SizeofLogHist},
		{"Series", unsafe.Sizeof(Series{}), SizeofSeries},
		{"WorstEntry", unsafe.Sizeof(WorstEntry{}), SizeofWorstEntry},
		{"Worst", unsafe.Sizeof(Worst{}), SizeofWorst},
		{"WindowSlot", unsafe.Sizeof(WindowSlot{}), SizeofWindowSlot},
		{"Windows", unsafe.Sizeof(Windows{}), SizeofWindows},
		{"OverflowLog", unsafe.Sizeof(OverflowLog{}), SizeofOverflowLog},
		{"Task", unsafe.Sizeof(Task{}), SizeofTask},
	} {
		if c.got != c.want {
			t.Errorf("unsafe.Sizeof(%s) = %d, documented %d: a layout change must bump LayoutVersion and the Sizeof constants", c.name, c.got, c.want)
		}
	}
	// Field offsets that readers in other languages would hard-code.
	if o := unsafe.Offsetof(Series{}.Hist); o != 64 {
		t.Errorf("Series.Hist at offset %d, want 64", o)
	}
	if o := unsafe.Offsetof(Task{}.Windows); o != 8+3*SizeofSeries+SizeofWorst {
		t.Errorf("Task.Windows at offset %d", o)
	}
}

// TestTaskInForeignMemory places a Task in a plain word buffer, as it
// would be in a mapping, writes it through one pointer and reads a byte
// copy through another.
func TestTaskInForeignMemory(t *testing.T) {
	buf := make([]uint64, SizeofTask/8+HistogramWords(10))
	task := (*Task)(unsafe.Pointer(&buf[0]))
	if err := task.Init(1000, 0); err != nil {
		t.Fatal(err)
	}
	h, err := NewHistogram(buf[SizeofTask/8:])
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(task, h)
	for i := range int64(100) {
		rec.Record(Sample{Cycle: uint64(i), AtNs: i * 100, LatencyNs: 1000 * i, JitterNs: -i, ExecNs: 7})
	}
	cp := append([]uint64(nil), buf...)
	got := (*Task)(unsafe.Pointer(&cp[0]))
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	if got.Latency.Summary() != task.Latency.Summary() || got.Latency.Count != 100 || got.Latency.Max != 99000 {
		t.Errorf("copied latency %+v, want %+v", got.Latency.Summary(), task.Latency.Summary())
	}
	// The histogram words follow the documented layout: bins, then overflow.
	words := cp[SizeofTask/8:]
	if words[0] != 1 || words[9] != 1 || words[10] != 90 {
		t.Errorf("histogram words = %v, want bin0=1 bin9=1 overflow=90", words)
	}
	if got.Overflows.Total != 90 || got.Overflows.Cycles[0] != 10 {
		t.Errorf("overflow log %d first %d, want 90 first 10", got.Overflows.Total, got.Overflows.Cycles[0])
	}
}

func TestTaskCheckVersion(t *testing.T) {
	var task Task
	if err := task.Check(); err == nil {
		t.Error("an uninitialised Task passed Check")
	}
	if err := task.Init(DefaultWindowNs, 0); err != nil {
		t.Fatal(err)
	}
	if err := task.Check(); err != nil {
		t.Error(err)
	}
	task.Version = LayoutVersion + 1
	if err := task.Check(); err == nil {
		t.Error("a Task of another layout version passed Check")
	}
	if err := task.Init(0, 0); err == nil {
		t.Error("Init accepted a zero window")
	}
}
