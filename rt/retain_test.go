package rt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/rt/shm"
)

type retainVal struct {
	Count    uint64
	Setpoint float64
	Flags    [5]uint32
}

type retainOther struct {
	Count uint64
	Other float64
}

func typeInfo[T any](t *testing.T) shm.TypeInfo {
	t.Helper()
	ti, err := shm.TypeOf[T]()
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// testRetain builds a Retain outside the package-level registry, on a
// private region, as Run would set it up in the supervisor.
func testRetain[T any](t *testing.T, path string, opts RetainOptions) *Retain[T] {
	t.Helper()
	reg := shm.PrivateRegion(shm.ImageSize[T]())
	img, err := shm.NewImage[T](reg)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultRetainInterval
	}
	return &Retain[T]{name: "test", path: path, opts: opts, img: img, file: newRetainFile(path, typeInfo[T](t))}
}

// saveN saves count values 1..n into a fresh file and returns its path.
func saveN(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.retain")
	rf := newRetainFile(path, typeInfo[retainVal](t))
	for i := 1; i <= n; i++ {
		v := retainVal{Count: uint64(i), Setpoint: float64(i) / 2}
		if err := rf.save(valueBytes(&v), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rf.close()
	return path
}

func loadVal(t *testing.T, path string) (retainVal, RetainLoad, error) {
	t.Helper()
	var v retainVal
	ld, err := newRetainFile(path, typeInfo[retainVal](t)).load(valueBytes(&v))
	return v, ld, err
}

func TestRetainSlotParse(t *testing.T) {
	ti := typeInfo[retainVal](t)
	slot := func(mod func(b []byte)) []byte {
		b := make([]byte, retainSlotSize(ti.Size))
		v := retainVal{Count: 7}
		encodeRetainSlot(b, ti, 3, time.Unix(100, 0), valueBytes(&v))
		if mod != nil {
			mod(b)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		state int
		why   string
	}{
		{"valid", slot(nil), slotValid, ""},
		{"empty", make([]byte, 4096), slotEmpty, "empty"},
		{"empty file", nil, slotEmpty, "empty"},
		{"short header", slot(nil)[:100], slotBad, "truncated"},
		{"short value", slot(nil)[:retainHeaderSize+4], slotBad, "truncated"},
		{"bad magic", slot(func(b []byte) { b[0] = 'X' }), slotBad, "bad magic"},
		{"other version", slot(func(b []byte) { b[8] = 9 }), slotBad, "format version 9"},
		{"flipped seq bit", slot(func(b []byte) { b[32] ^= 4 }), slotBad, "checksum"},
		{"flipped time bit", slot(func(b []byte) { b[41] ^= 1 }), slotBad, "checksum"},
		{"flipped value bit", slot(func(b []byte) { b[retainHeaderSize+3] ^= 0x80 }), slotBad, "checksum"},
		{"flipped type name", slot(func(b []byte) { b[70] ^= 1 }), slotBad, "checksum"},
		{"huge size", slot(func(b []byte) { b[23] = 0xff }), slotBad, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, val, state, why := parseRetainSlot(tc.b)
			if state != tc.state || !strings.Contains(why, tc.why) {
				t.Fatalf("state %d %q, want %d %q", state, why, tc.state, tc.why)
			}
			if state == slotValid {
				var v retainVal
				copy(valueBytes(&v), val)
				if h.Seq != 3 || h.Size != ti.Size || h.Hash != ti.Fingerprint || h.TypeName != ti.Name ||
					!h.SavedAt.Equal(time.Unix(100, 0)) || v.Count != 7 {
					t.Fatalf("header %+v value %+v", h, v)
				}
			}
		})
	}
}

func FuzzRetainSlotParse(f *testing.F) {
	ti, _ := shm.TypeOf[retainVal]()
	b := make([]byte, retainSlotSize(ti.Size))
	encodeRetainSlot(b, ti, 1, time.Unix(1, 0), make([]byte, ti.Size))
	f.Add(b)
	f.Add(b[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, val, state, _ := parseRetainSlot(b)
		if state == slotValid && (len(val) != h.Size || retainCRC(b[:retainHeaderSize], val) != uint32(b[48])|uint32(b[49])<<8|uint32(b[50])<<16|uint32(b[51])<<24) {
			t.Fatalf("accepted a slot whose value or checksum does not match: %+v", h)
		}
	})
}

func TestRetainFileNewestSlot(t *testing.T) {
	for n := 1; n <= 4; n++ {
		v, ld, err := loadVal(t, saveN(t, n))
		if err != nil || !ld.OK || v.Count != uint64(n) || ld.Seq != uint64(n) {
			t.Fatalf("after %d saves: %+v %+v %v; want count and seq %d", n, v, ld, err, n)
		}
		// Saves alternate between the slots, the first in slot 0.
		if ld.Slot != (n-1)%2 {
			t.Errorf("after %d saves: loaded slot %d, want %d", n, ld.Slot, (n-1)%2)
		}
		if age := time.Since(ld.SavedAt); age < 0 || age > time.Minute {
			t.Errorf("saved %v ago", age)
		}
	}
}

func TestRetainFileNoFile(t *testing.T) {
	v, ld, err := loadVal(t, filepath.Join(t.TempDir(), "none"))
	if err != nil || ld.OK || ld.Slot != -1 || v != (retainVal{}) {
		t.Fatalf("%+v %+v %v; want nothing loaded and no error", v, ld, err)
	}
}

func TestRetainFileDamage(t *testing.T) {
	ss := retainSlotSize(typeInfo[retainVal](t).Size)
	flip := func(off int) func(b []byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x10; return b }
	}
	for _, tc := range []struct {
		name   string
		saves  int // the newest is in slot (saves-1)%2
		damage func(b []byte) []byte
		want   uint64 // 0: ErrRetainCorrupt
	}{
		{"flipped value bit, newest slot 1", 4, flip(ss + retainHeaderSize), 3},
		{"flipped value bit, newest slot 0", 3, flip(retainHeaderSize + 8), 2},
		{"flipped header bit, newest slot 1", 4, flip(ss + 33), 3},
		{"flipped bit in the older slot", 4, flip(retainHeaderSize), 4},
		{"newest slot truncated", 4, func(b []byte) []byte { return b[:ss+retainHeaderSize+3] }, 3},
		{"newest slot cut off", 4, func(b []byte) []byte { return b[:ss] }, 3},
		{"file truncated in slot 0", 4, func(b []byte) []byte { return b[:50] }, 0},
		{"both slots flipped", 4, func(b []byte) []byte { b[retainHeaderSize] ^= 1; b[ss+retainHeaderSize] ^= 1; return b }, 0},
		{"torn write: newest half zero", 4, func(b []byte) []byte { clear(b[ss+retainHeaderSize/2 : 2*ss]); return b }, 3},
		{"garbage file", 1, func(b []byte) []byte { return bytes.Repeat([]byte{0xa5}, len(b)) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := saveN(t, tc.saves)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			v, ld, err := loadVal(t, path)
			if tc.want == 0 {
				if !errors.Is(err, ErrRetainCorrupt) || ld.OK || !strings.Contains(err.Error(), "slot 0: ") {
					t.Fatalf("%+v %+v %v; want ErrRetainCorrupt naming both slots' faults", v, ld, err)
				}
				return
			}
			if err != nil || !ld.OK || v.Count != tc.want || v.Setpoint != float64(tc.want)/2 || ld.Seq != tc.want {
				t.Fatalf("%+v %+v %v; want copy %d", v, ld, err, tc.want)
			}
			// The next save must go to the bad slot, never over the
			// only good copy.
			rf := newRetainFile(path, typeInfo[retainVal](t))
			var got retainVal
			if _, err := rf.load(valueBytes(&got)); err != nil {
				t.Fatal(err)
			}
			next := retainVal{Count: 99}
			if err := rf.save(valueBytes(&next), time.Now()); err != nil {
				t.Fatal(err)
			}
			rf.close()
			v, ld, err = loadVal(t, path)
			if err != nil || v.Count != 99 || ld.Seq != tc.want+1 {
				t.Fatalf("after the next save: %+v %+v %v", v, ld, err)
			}
			b, _ = os.ReadFile(path)
			if h, _, st, why := parseRetainSlot(b[(1-ld.Slot)*ss : (2-ld.Slot)*ss]); st != slotValid || h.Seq != tc.want {
				t.Fatalf("the other slot no longer holds copy %d: %v %q %+v", tc.want, st, why, h)
			}
		})
	}
}

func TestRetainFileWrongType(t *testing.T) {
	path := saveN(t, 2)
	var v retainOther
	_, err := newRetainFile(path, typeInfo[retainOther](t)).load(valueBytes(&v))
	if !errors.Is(err, shm.ErrMismatch) || !strings.Contains(err.Error(), "rt.retainVal") || !strings.Contains(err.Error(), "rt.retainOther") {
		t.Fatalf("loading another type's file: %v; want shm.ErrMismatch naming both types", err)
	}
	if v != (retainOther{}) {
		t.Fatalf("loaded %+v from another type's file", v)
	}
	t.Logf("another type's file: %v", err)
	// Also with the first slot damaged: the type is in the second.
	b, _ := os.ReadFile(path)
	b[retainHeaderSize] ^= 1
	os.WriteFile(path, b, 0o600)
	if _, err := newRetainFile(path, typeInfo[retainOther](t)).load(valueBytes(&v)); !errors.Is(err, shm.ErrMismatch) {
		t.Fatalf("another type's file with slot 0 damaged: %v; want shm.ErrMismatch", err)
	}

	// A Retain refuses to start on it, and leaves the file as it was.
	r := testRetain[retainOther](t, path, RetainOptions{})
	var log bytes.Buffer
	if err := r.start(&log); !errors.Is(err, shm.ErrMismatch) {
		t.Fatalf("start: %v; want shm.ErrMismatch", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("the refused file was changed")
	}
	// Origin discards it.
	r.SetStart(Origin)
	if err := r.start(&log); err != nil {
		t.Fatalf("origin start: %v", err)
	}
	r.img.Write(&retainOther{Count: 5})
	if err := r.end(); err != nil {
		t.Fatal(err)
	}
	var back retainOther
	if ld, err := newRetainFile(path, typeInfo[retainOther](t)).load(valueBytes(&back)); err != nil || back.Count != 5 || ld.Seq != 1 {
		t.Fatalf("after origin and a save: %+v %+v %v", back, ld, err)
	}
}

func TestRetainStartModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "modes.retain")
	def := retainVal{Setpoint: 50}
	var log bytes.Buffer
	run := func(mode StartMode, write *retainVal) (*Retain[retainVal], retainVal) {
		t.Helper()
		r := testRetain[retainVal](t, path, RetainOptions{Start: mode, Interval: time.Hour})
		r.WithDefault(def)
		if err := r.start(&log); err != nil {
			t.Fatalf("%v start: %v", mode, err)
		}
		var got retainVal
		if !r.img.Read(&got) {
			t.Fatal("image read failed")
		}
		if write != nil {
			r.img.Write(write) // the task's writes
		}
		if err := r.end(); err != nil {
			t.Fatalf("%v end: %v", mode, err)
		}
		return r, got
	}
	// First start: no file, the defaults.
	r, got := run(Warm, &retainVal{Count: 1, Setpoint: 60})
	if _, _, _, ok := r.Loaded(); ok || got != def || r.LoadErr() != nil {
		t.Fatalf("first start: got %+v ok %v err %v; want the defaults", got, ok, r.LoadErr())
	}
	// Warm: what the last run wrote, saved when it ended.
	r, got = run(Warm, &retainVal{Count: 2, Setpoint: 70})
	seq, at, slot, ok := r.Loaded()
	if !ok || got.Count != 1 || got.Setpoint != 60 || seq != 1 || slot != 0 || time.Since(at) > time.Minute {
		t.Fatalf("warm start: got %+v, loaded seq %d slot %d ok %v", got, seq, slot, ok)
	}
	// A run that writes nothing saves nothing.
	r, got = run(Warm, nil)
	if seq, _, _, _ := r.Loaded(); got.Count != 2 || seq != 2 {
		t.Fatalf("warm start: got %+v seq %d; want count 2 from copy 2", got, seq)
	}
	if _, ld, _ := loadVal(t, path); ld.Seq != 2 {
		t.Fatalf("a run without writes saved: copy %d, want still 2", ld.Seq)
	}
	// Cold: the defaults, saved at once.
	r, got = run(Cold, nil)
	if _, _, _, ok := r.Loaded(); ok || got != def {
		t.Fatalf("cold start: got %+v ok %v; want the defaults", got, ok)
	}
	if v, ld, err := loadVal(t, path); err != nil || v != def || ld.Seq != 3 {
		t.Fatalf("after a cold start the file holds %+v (copy %d, %v); want the defaults as copy 3", v, ld.Seq, err)
	}
	// Origin: the file is deleted.
	run(Warm, &retainVal{Count: 9})
	r, got = run(Origin, nil)
	if got != def || r.LoadInfo().Mode != Origin {
		t.Fatalf("origin start: got %+v %+v; want the defaults", got, r.LoadInfo())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after an origin start without writes the file exists: %v", err)
	}
	for _, want := range []string{"warm start: loaded copy 1 from slot 0", "cold start", "origin start"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestRetainBothSlotsBad(t *testing.T) {
	path := saveN(t, 2)
	b, _ := os.ReadFile(path)
	ss := retainSlotSize(typeInfo[retainVal](t).Size)
	b[retainHeaderSize] ^= 1
	b[ss+retainHeaderSize] ^= 1
	os.WriteFile(path, b, 0o600)
	r := testRetain[retainVal](t, path, RetainOptions{})
	r.WithDefault(retainVal{Setpoint: 50})
	var log bytes.Buffer
	if err := r.start(&log); err != nil {
		t.Fatalf("start: %v; want the defaults and a warning", err)
	}
	var got retainVal
	r.img.Read(&got)
	if got != (retainVal{Setpoint: 50}) || !errors.Is(r.LoadErr(), ErrRetainCorrupt) {
		t.Fatalf("got %+v, LoadErr %v; want the defaults and ErrRetainCorrupt", got, r.LoadErr())
	}
	if !strings.Contains(log.String(), "no valid copy") || !strings.Contains(log.String(), "defaults") {
		t.Errorf("log does not say so: %q", log.String())
	}
	t.Logf("both slots bad: %s", log.String())
	r.end()
}

func TestRetainSaverInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tick.retain")
	r := testRetain[retainVal](t, path, RetainOptions{Interval: 5 * time.Millisecond})
	if err := r.start(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	defer r.end()
	// The saver saves what the task writes without Run ending.
	for i := uint64(1); i <= 3; i++ {
		r.img.Write(&retainVal{Count: i})
		deadline := time.Now().Add(10 * time.Second)
		for {
			if v, _, err := loadVal(t, path); err == nil && v.Count == i {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("value %d not saved within 10 s", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if v, ok := r.Value(); !ok || v.Count != 3 {
		t.Fatalf("Value %+v %v", v, ok)
	}
}

// killVal is large (17 pages per slot), so that a SIGKILL can cut a
// write short between pages; every word derives from N, so a torn value
// shows.
type killVal struct {
	N    uint64
	Fill [8192]uint64
}

func (v *killVal) set(n uint64) {
	v.N = n
	for i := range v.Fill {
		v.Fill[i] = n*0x9e3779b97f4a7c15 + uint64(i)
	}
}

func (v *killVal) consistent() bool {
	for i := range v.Fill {
		if v.Fill[i] != v.N*0x9e3779b97f4a7c15+uint64(i) {
			return false
		}
	}
	return true
}

const envRetainKill = "RTCELL_RETAIN_KILL"

// TestRetainKillChild is the process TestRetainKill kills: it loads the
// file as a warm start does and saves N+1, N+2 … as fast as it can,
// printing each N once its save has returned.
func TestRetainKillChild(t *testing.T) {
	path := os.Getenv(envRetainKill)
	if path == "" {
		t.Skip("run by TestRetainKill")
	}
	ti, _ := shm.TypeOf[killVal]()
	rf := newRetainFile(path, ti)
	var v killVal
	if _, err := rf.load(valueBytes(&v)); err != nil {
		os.Stderr.WriteString("load: " + err.Error() + "\n")
		os.Exit(2)
	}
	for n := v.N + 1; ; n++ {
		v.set(n)
		if err := rf.save(valueBytes(&v), time.Now()); err != nil {
			os.Stderr.WriteString("save: " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString(strconv.FormatUint(n, 10) + "\n")
	}
}

// TestRetainKill kills a saving process with SIGKILL at random moments
// and checks every load: never a corrupt or torn value, always one of
// the last two saves (the last one reported done, or the one under way).
func TestRetainKill(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 30
	}
	path := filepath.Join(t.TempDir(), "kill.retain")
	ti := typeInfo[killVal](t)
	ss := retainSlotSize(ti.Size)
	var prev uint64 // the value the last load gave
	var underWay, badSlots int
	start := time.Now()
	for i := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRetainKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envRetainKill+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			first uint64
			last  uint64
		)
		firstSave := make(chan struct{})
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				n, err := strconv.ParseUint(sc.Text(), 10, 64)
				if err != nil {
					continue
				}
				mu.Lock()
				if first == 0 {
					first = n
					close(firstSave)
				}
				last = n
				mu.Unlock()
			}
		}()
		select {
		case <-firstSave:
		case <-readDone:
			cmd.Wait()
			t.Fatalf("round %d: the child ended before its first save:\n%s", i, stderr.String())
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d: no save in 20 s", i)
		}
		// Kill within the next few saves: a save takes one fsync.
		time.Sleep(time.Duration(rand.Int64N(int64(3 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		<-readDone
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not by SIGKILL:\n%s", i, cmd.ProcessState, stderr.String())
		}
		if first != prev+1 {
			t.Fatalf("round %d: the child's first save was %d; its warm start should have loaded %d", i, first, prev)
		}
		var v killVal
		ld, err := newRetainFile(path, ti).load(valueBytes(&v))
		switch {
		case err != nil || !ld.OK:
			t.Fatalf("round %d: load after kill: %+v %v", i, ld, err)
		case !v.consistent():
			t.Fatalf("round %d: loaded a torn value (N %d)", i, v.N)
		case v.N != last && v.N != last+1:
			t.Fatalf("round %d: loaded %d; the last save reported done was %d", i, v.N, last)
		}
		if v.N == last+1 {
			underWay++
		}
		b, _ := os.ReadFile(path)
		for s := range 2 {
			if _, _, st, _ := parseRetainSlot(b[s*ss : (s+1)*ss]); st != slotValid {
				badSlots++
			}
		}
		prev = v.N
	}
	t.Logf("%d kills in %v: every load valid and one of the last two saves; %d loaded a save the child had not reported, %d slots found bad; %d saves in all",
		rounds, time.Since(start).Round(time.Millisecond), underWay, badSlots, prev)
}

// retainProg is retained data of the Program in TestRetainWorkerRestart;
// declared at package level, so that its workers declare it too.
// TestRetainProgramKilled sets its file through envRetainPath, for all
// its program's processes.
var retainProg = DeclareRetain[retainVal]("retain-test", retainTestPath(), RetainOptions{Interval: 20 * time.Millisecond})

const envRetainPath = "RTCELL_RETAIN_PATH"

func retainTestPath() string {
	if p := os.Getenv(envRetainPath); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "rtcell-retain-test-"+strconv.Itoa(os.Getpid())+".retain")
}

// retainTask counts its starts (Flags[0]) and cycles (Count) in
// retainProg.
func retainTask(lo LoopOptions) Task {
	return Task{
		Loop: lo,
		Setup: func() (CycleFunc, error) {
			img := retainProg.Image()
			var v retainVal
			if !img.Read(&v) {
				return nil, errors.New("reading the retained image failed")
			}
			v.Flags[0]++
			img.Write(&v)
			return func(c *Cycle) bool {
				v.Count++
				img.Write(&v)
				return true
			}, nil
		},
		Watchdog: Watchdog{Restart: true},
	}
}

func init() {
	ExampleTasks = append(ExampleTasks, retainTask(LoopOptions{Name: "retain"}))
	programs["retain"] = func() Program {
		return Program{
			Tasks: []Task{retainTask(LoopOptions{
				Name:   "retain",
				Period: time.Millisecond,
				Thread: ThreadOptions{CPU: -1, Policy: PolicyOther, NoMlock: true, NoDMALatency: true},
			})},
			IgnoreMisses: true,
		}
	}
}

// A worker killed by a fault and restarted by the watchdog goes on from
// the retained value it left in the image, and the end of the run saves
// the final value.
func TestRetainWorkerRestart(t *testing.T) {
	retainProg.SetStart(Origin)
	defer os.Remove(retainProg.Path())
	var log rttest.LockedBuffer // the supervisor writes from several goroutines
	var beforeKill, atRestart, afterRestart retainVal
	sum, err := Run(context.Background(), Program{
		Tasks: []Task{retainTask(LoopOptions{
			Name:   "retain",
			Period: time.Millisecond,
			Thread: ThreadOptions{CPU: -1, Policy: PolicyOther, NoMlock: true, NoDMALatency: true},
		})},
		IgnoreMisses: true,
		Stderr:       &log,
		Worker:       WorkerOptions{Args: []string{"-test.run=^$"}},
		NonRT: func(ctx context.Context, sup *Supervisor) error {
			wait := func(what string, ok func(v retainVal) bool) (retainVal, error) {
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if v, _ := retainProg.Value(); ok(v) {
						return v, nil
					}
					time.Sleep(2 * time.Millisecond)
				}
				v, _ := retainProg.Value()
				return v, fmt.Errorf("%s: not within 20 s (value %+v)", what, v)
			}
			var err error
			if beforeKill, err = wait("50 cycles", func(v retainVal) bool { return v.Count >= 50 }); err != nil {
				return err
			}
			if err := sup.Kill("retain"); err != nil {
				return err
			}
			// The new worker starts from the dead one's last write.
			if atRestart, err = wait("restart", func(v retainVal) bool { return v.Flags[0] == 2 }); err != nil {
				return err
			}
			afterRestart, err = wait("50 more cycles", func(v retainVal) bool { return v.Count >= atRestart.Count+50 })
			return err
		},
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if len(sum.Tasks) != 1 || sum.Tasks[0].Restarts != 1 {
		t.Fatalf("want 1 restart: %+v\n%s", sum.Tasks, log.String())
	}
	// The restarted worker went on from the count the killed one had
	// reached, not from 0 or the last save.
	if atRestart.Count < beforeKill.Count || afterRestart.Count < atRestart.Count+50 {
		t.Fatalf("count %d before the kill, %d when the new worker started, %d later; want no step back and 50 more",
			beforeKill.Count, atRestart.Count, afterRestart.Count)
	}
	final, _ := retainProg.Value()
	v, ld, err := loadVal(t, retainProg.Path())
	if err != nil || !ld.OK || v != final || v.Flags[0] != 2 {
		t.Fatalf("file after the run: %+v %+v %v; want the final value %+v", v, ld, err, final)
	}
}

// A cold or origin start is a one-time command: the next Run of the same
// program is warm.
func TestRetainResetOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "once.retain")
	for _, mode := range []StartMode{Cold, Origin} {
		r := testRetain[retainVal](t, path, RetainOptions{Start: mode})
		for i, want := range []StartMode{mode, Warm} {
			if err := r.start(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			r.img.Write(&retainVal{Count: uint64(i + 1)})
			if err := r.end(); err != nil {
				t.Fatal(err)
			}
			if got := r.LoadInfo().Mode; got != want {
				t.Errorf("start %d after %v: mode %v, want %v", i+1, mode, got, want)
			}
		}
		if _, _, _, ok := r.Loaded(); !ok {
			t.Errorf("the warm start after %v loaded nothing", mode)
		}
	}
}

// A program killed with SIGKILL (supervisor and workers) and started
// again, 5 times: each start loads what the interval saves last wrote, so
// the counts never go back and every start is counted.
func TestRetainProgramKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog.retain")
	var last retainVal // what the last kill left on disk
	const rounds = 5
	for round := 1; round <= rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envProgram+"=retain", envRetainPath+"="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until this start's worker ran 30 cycles and a save wrote
		// them.
		var seen retainVal
		deadline := time.Now().Add(20 * time.Second)
		for {
			v, ld, err := loadVal(t, path)
			if err == nil && ld.OK {
				if v.Count < seen.Count || v.Flags[0] < seen.Flags[0] {
					cmd.Process.Kill()
					t.Fatalf("round %d: the file went back from %+v to %+v", round, seen, v)
				}
				seen = v
				if v.Flags[0] == uint32(round) && v.Count >= last.Count+30 {
					break
				}
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: no save of 30 more cycles from start %d in 20 s (file: %+v %v)\n%s", round, round, seen, err, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		v, ld, err := loadVal(t, path)
		if err != nil || !ld.OK || v.Count < seen.Count || v.Flags[0] != uint32(round) {
			t.Fatalf("round %d: after the kill the file holds %+v (%+v, %v); want ≥ %d cycles and %d starts\n%s",
				round, v, ld, err, seen.Count, round, stderr.String())
		}
		last = v
	}
	t.Logf("%d programs killed: %d starts and %d cycles retained", rounds, last.Flags[0], last.Count)
}

func TestRetainMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "x.retain")
	r := testRetain[retainVal](t, path, RetainOptions{})
	if err := r.start(&bytes.Buffer{}); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no-such-dir") {
		t.Fatalf("start: %v; want an error naming the missing directory", err)
	}
}

func TestDeclareRetainBadType(t *testing.T) {
	type bad struct {
		Count uint64
		Label string
	}
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, `retained data "bad"`) || !strings.Contains(msg, "Label") || !strings.Contains(msg, "string") {
			t.Fatalf("panic %q; want one naming the retained data, the field and its kind", msg)
		}
	}()
	DeclareRetain[bad]("bad", filepath.Join(t.TempDir(), "bad.retain"))
}
