package rt

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unsafe"

	"github.com/rtcell/rtcell/rt/shm"
)

// ErrRetainCorrupt means a retained-data file held no valid copy: both
// slots failed their checks (torn, truncated, flipped bits). The program
// then starts from the defaults; Retain.LoadErr returns the error.
var ErrRetainCorrupt = errors.New("retained data file has no valid copy")

// DefaultRetainInterval is how often the supervisor saves retained data
// by default (RetainOptions.Interval).
const DefaultRetainInterval = time.Second

// StartMode says what a Program's start does to retained data, as a PLC's
// warm, cold and origin resets do.
type StartMode int

const (
	// Warm keeps the retained values: the newest valid copy on disk is
	// loaded (the default).
	Warm StartMode = iota
	// Cold resets the values to their defaults, and saves the defaults at
	// once, so that a crash right after a cold start does not bring the
	// old values back.
	Cold
	// Origin deletes the file and starts from the defaults: the state of
	// a newly installed program.
	Origin
)

func (m StartMode) String() string {
	switch m {
	case Warm:
		return "warm"
	case Cold:
		return "cold"
	case Origin:
		return "origin"
	}
	return fmt.Sprintf("StartMode(%d)", int(m))
}

// RetainOptions configure retained data.
type RetainOptions struct {
	// Interval is how often the supervisor saves the value while the
	// program runs; default DefaultRetainInterval. A save is skipped when
	// the task has not written the image since the last one. The value
	// is also saved when Run ends. What the task wrote after the last
	// save is lost if the supervisor itself is killed or the power goes.
	Interval time.Duration
	// Start chooses warm (the default), cold or origin start; SetStart
	// changes it before Run (from a flag, say). Cold and origin apply to
	// one start: a later Run in the same process starts warm.
	Start StartMode
	// Log gets one line per load (which copy, how old) and the warnings
	// (a bad copy, a cold or origin reset); default the Program's Stderr.
	Log io.Writer
}

// Retain is a pointer-free value that survives restarts of its task's
// worker and of the whole program: CODESYS's RETAIN PERSISTENT variables.
// The RT task reads and writes it through a shared process image, as any
// other image, and never touches a file; the supervisor loads it from
// disk when Run starts, before any worker, and saves it at an interval
// and when Run ends.
//
// On disk the file holds two slots, each a header (magic, format
// version, the type's name, size and layout fingerprint, a sequence
// number, the save time) and the value, checked by a CRC-32C over both.
// A save overwrites the slot that does not hold the newest valid copy,
// then fsyncs the file (and its directory, when it created the file): a
// crash or power cut at any moment, even in the middle of a write, leaves
// the other slot intact, and the next start loads the newest valid copy.
// The value is stored in the machine's byte order, as it is in memory: a
// file moves between machines of the same architecture only.
type Retain[T any] struct {
	reg  *Region
	img  *shm.Image[T]
	name string
	path string
	opts RetainOptions
	def  T

	mu        sync.Mutex // serialises loads, saves and reads of img in the supervisor
	file      *retainFile
	loaded    RetainLoad
	loadErr   error
	savedVer  uint64 // the image version last saved
	stop      chan struct{}
	saverDone chan struct{}
	log       io.Writer
}

// RetainLoad says what a start loaded.
type RetainLoad struct {
	// OK is set when a saved copy was loaded; false on the first start,
	// after a cold or origin start, and when no copy was valid.
	OK bool
	// Seq is the copy's sequence number, one more with every save.
	Seq uint64
	// SavedAt is when the copy was saved (wall clock of the saving
	// process).
	SavedAt time.Time
	// Slot is the slot (0 or 1) the copy came from; -1 when none.
	Slot int
	// Mode is the start mode that was applied.
	Mode StartMode
}

// DeclareRetain declares retained data of type T (pointer-free, fixed
// size; see shm.NewImage), kept in the file at path, whose directory must
// exist: Run fails at start otherwise. Declare it in a package-level var, as DeclareImage; name names
// its shared region. The defaults are T's zero value unless WithDefault
// sets others. DeclareRetain panics if T cannot be placed in shared
// memory, naming the field.
//
// In the worker, Task.Setup reads the value once from Image() and the
// cycle writes it back with Image().Write whenever it changes: the task
// is the image's only writer while Run runs. Between runs, and before
// the first worker starts, the supervisor writes the loaded value.
func DeclareRetain[T any](name, path string, opts ...RetainOptions) *Retain[T] {
	ti, err := shm.TypeOf[T]()
	if err != nil {
		panic(fmt.Sprintf("rt: retained data %q: %v", name, err))
	}
	r := &Retain[T]{name: name, path: path}
	if len(opts) > 0 {
		r.opts = opts[0]
	}
	if r.opts.Interval <= 0 {
		r.opts.Interval = DefaultRetainInterval
	}
	r.file = newRetainFile(path, ti)
	r.reg = declareRegion(name, shm.ImageSize[T](),
		func(sr *shm.Region) (err error) { r.img, err = shm.NewImage[T](sr); return err },
		func(sr *shm.Region) (err error) { r.img, err = shm.OpenImage[T](sr); return err })
	retainsMu.Lock()
	retains = append(retains, r)
	retainsMu.Unlock()
	return r
}

// WithDefault sets the values a cold or origin start, or a first start,
// begins from. Call it in the declaration:
//
//	var counters = rt.DeclareRetain[Counters]("counters", path).WithDefault(Counters{Limit: 100})
func (r *Retain[T]) WithDefault(v T) *Retain[T] {
	r.mu.Lock()
	r.def = v
	r.mu.Unlock()
	return r
}

// SetStart chooses warm, cold or origin for the next Run (only: the Runs
// after it start warm). Call it before Run, in the supervisor (workers
// never load).
func (r *Retain[T]) SetStart(m StartMode) {
	r.mu.Lock()
	r.opts.Start = m
	r.mu.Unlock()
}

// Image returns the shared image, on either side, once Run has set it up
// (in Task.Setup, in NonRT); nil before. In the supervisor, read the
// value with Value: the saver reads the image concurrently, and readers
// of one image must take turns.
func (r *Retain[T]) Image() *shm.Image[T] { return r.img }

// Path is the file the value is kept in.
func (r *Retain[T]) Path() string { return r.path }

// Loaded says what the last Run's start loaded: the copy's sequence
// number, when it was saved, from which slot, and whether one was loaded
// at all (see RetainLoad).
func (r *Retain[T]) Loaded() (seq uint64, savedAt time.Time, slot int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loaded.Seq, r.loaded.SavedAt, r.loaded.Slot, r.loaded.OK
}

// LoadInfo is Loaded as one value, with the start mode applied.
func (r *Retain[T]) LoadInfo() RetainLoad {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loaded
}

// LoadErr is the warning of the last load: nil when the newest copy was
// valid or there was no file; an error matching ErrRetainCorrupt when a
// file was there but no copy in it was valid (the values were reset to
// the defaults).
func (r *Retain[T]) LoadErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadErr
}

// Value returns the current value in the supervisor, and false if the
// task rewrote it too fast to copy (never, at cycle rates). Before Run it
// returns the defaults.
func (r *Retain[T]) Value() (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.img == nil {
		return r.def, true
	}
	var v T
	ok := r.img.Read(&v)
	return v, ok
}

// Save saves the current value now, from the supervisor (say, before a
// planned power-off), whether or not it changed. It is safe to call
// concurrently with the saver.
func (r *Retain[T]) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saveLocked(true)
}

// saveLocked saves the image's value if it changed since the last save
// (or always, with force). r.mu is held.
func (r *Retain[T]) saveLocked(force bool) error {
	if r.img == nil {
		return fmt.Errorf("saving retained data %q: the program has not started", r.name)
	}
	ver := r.img.Version()
	if !force && ver == r.savedVer {
		return nil
	}
	var v T
	var ok bool
	for range 10 {
		if ver, ok = r.img.ReadVersion(&v); ok {
			break
		}
	}
	if !ok {
		return fmt.Errorf("saving retained data %q: the task rewrote the image during every copy", r.name)
	}
	if err := r.file.save(valueBytes(&v), time.Now()); err != nil {
		return fmt.Errorf("saving retained data %q: %w", r.name, err)
	}
	r.savedVer = ver
	return nil
}

// start loads the value into the image (by the start mode) and starts
// the saver. It runs in the supervisor when Run starts, before any worker.
func (r *Retain[T]) start(stderr io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = r.opts.Log
	if r.log == nil {
		r.log = stderr
	}
	r.loaded, r.loadErr = RetainLoad{Slot: -1, Mode: r.opts.Start}, nil
	v := r.def
	switch r.opts.Start {
	case Warm:
		var got T
		ld, err := r.file.load(valueBytes(&got))
		switch {
		case errors.Is(err, ErrRetainCorrupt):
			r.loadErr = fmt.Errorf("retained data %q: %w", r.name, err)
			fmt.Fprintf(r.log, "retain %q: %v; starting from the defaults\n", r.name, err)
		case err != nil:
			return fmt.Errorf("loading retained data %q: %w", r.name, err)
		case ld.OK:
			v = got
			fmt.Fprintf(r.log, "retain %q: warm start: loaded copy %d from slot %d of %s, saved %v ago\n",
				r.name, ld.Seq, ld.Slot, r.path, time.Since(ld.SavedAt).Round(time.Millisecond))
		}
		ld.Mode = Warm
		r.loaded = ld
	case Cold:
		// Keep the sequence going so that the defaults supersede both
		// old copies; a file of another type is still refused.
		var old T
		if _, err := r.file.load(valueBytes(&old)); err != nil && !errors.Is(err, ErrRetainCorrupt) {
			return fmt.Errorf("loading retained data %q: %w", r.name, err)
		}
		fmt.Fprintf(r.log, "retain %q: cold start: values reset to the defaults\n", r.name)
	case Origin:
		existed, err := r.file.wipe()
		if err != nil {
			return fmt.Errorf("wiping retained data %q: %w", r.name, err)
		}
		what := "no file " + r.path
		if existed {
			what = r.path + " deleted"
		}
		fmt.Fprintf(r.log, "retain %q: origin start: %s, values reset to the defaults\n", r.name, what)
	default:
		return fmt.Errorf("retained data %q: start mode %v: %w", r.name, r.opts.Start, ErrInvalid)
	}
	// A missing directory fails the start rather than every save of a
	// long run. (The file itself is created by the first save.)
	if err := r.file.checkDir(); err != nil {
		return fmt.Errorf("retained data %q: %w", r.name, err)
	}
	r.img.Write(&v)
	r.savedVer = r.img.Version()
	if r.opts.Start == Cold {
		if err := r.saveLocked(true); err != nil {
			return err
		}
	}
	// A reset is a one-time command: a later Run in this process is a
	// restart, and starts warm.
	r.opts.Start = Warm
	r.stop, r.saverDone = make(chan struct{}), make(chan struct{})
	go r.saver(r.stop, r.saverDone)
	return nil
}

// saver saves the value every Interval until stop is closed.
func (r *Retain[T]) saver(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(r.opts.Interval)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		err := r.saveLocked(false)
		r.mu.Unlock()
		// Report a failure once, not every interval, and the recovery.
		switch {
		case err != nil && err.Error() != lastErr:
			fmt.Fprintf(r.log, "retain %q: %v\n", r.name, err)
		case err == nil && lastErr != "":
			fmt.Fprintf(r.log, "retain %q: saving again\n", r.name)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
	}
}

// end stops the saver and saves the final value. It runs in the
// supervisor when Run ends, after the workers have stopped.
func (r *Retain[T]) end() error {
	if r.stop == nil {
		return nil
	}
	close(r.stop)
	<-r.saverDone
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stop = nil
	err := r.saveLocked(false)
	if cerr := r.file.close(); err == nil {
		err = cerr
	}
	return err
}

// valueBytes is the memory of *v as bytes. T is pointer-free (checked
// at declaration), so its bytes are the whole value.
func valueBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// retainer is a Retain of any type, as Run sees it.
type retainer interface {
	start(stderr io.Writer) error
	end() error
}

var (
	retainsMu sync.Mutex
	retains   []retainer
)

// startRetained loads every declared Retain and starts their savers; on
// an error it stops those it started. Run calls it after creating the
// regions and before starting any worker.
func startRetained(stderr io.Writer) error {
	retainsMu.Lock()
	defer retainsMu.Unlock()
	for i, r := range retains {
		if err := r.start(stderr); err != nil {
			for _, s := range retains[:i] {
				s.end()
			}
			return err
		}
	}
	return nil
}

// endRetained stops the savers and saves the final values, reporting a
// failed save on stderr. Run calls it once the workers have stopped.
func endRetained(stderr io.Writer) {
	retainsMu.Lock()
	defer retainsMu.Unlock()
	for _, r := range retains {
		if err := r.end(); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
		}
	}
}
