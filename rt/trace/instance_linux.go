package trace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Instance is a private ftrace instance (instances/rtcell-PID under
// tracefs): its own ring buffer, clock, CPU mask and events, so that
// tracing for rtcell never touches the global buffer another tool may be
// using. Create it with NewInstance and always Remove it: an instance
// keeps its buffer allocated in the kernel until it is removed.
type Instance struct {
	root, name, dir string
	mounted         bool
	swept           []string
	enabled         []string
	removed         bool
}

// NewInstance creates and configures a trace instance, recording. It
//   - mounts tracefs at DefaultRoot when nothing is mounted there
//     (Mounted then reports it, for the caller to say so);
//   - removes the instances of earlier rtcell processes whose PID is gone
//     (a run that was SIGKILLed cannot remove its own; Swept lists them);
//   - creates instances/rtcell-PID with trace_clock "mono" (the
//     timestamps are CLOCK_MONOTONIC, the loop's clock), buffer_size_kb,
//     tracing_cpumask set to o.CPUs, and the Events the kernel has
//     enabled; the buffer starts empty and tracing on.
//
// It needs root: mounting tracefs needs CAP_SYS_ADMIN, and tracefs lets
// only root create an instance. Errors say what to do; an error that
// matches ErrPermission means the process lacks the privilege.
func NewInstance(o InstanceOptions) (*Instance, error) {
	root := o.Root
	if root == "" {
		root = DefaultRoot
	}
	bufKB := o.BufferKB
	if bufKB == 0 {
		bufKB = DefaultBufferKB
	}
	if bufKB < 0 {
		return nil, fmt.Errorf("trace buffer of %d KiB: want > 0: %w", bufKB, ErrInvalid)
	}
	var mask string
	if len(o.CPUs) > 0 {
		var err error
		if mask, err = cpuMask(o.CPUs); err != nil {
			return nil, fmt.Errorf("trace cpus: %w", err)
		}
	}
	mounted, err := mountTracefs(root, root == DefaultRoot)
	if err != nil {
		return nil, err
	}
	in := &Instance{root: root, mounted: mounted, name: InstancePrefix + strconv.Itoa(os.Getpid())}
	in.dir = filepath.Join(root, "instances", in.name)
	in.swept, _ = Sweep(root)
	if err := os.Mkdir(in.dir, 0o755); err != nil {
		switch {
		case errors.Is(err, os.ErrExist):
			// An instance of this PID: left by an earlier Instance of
			// this process that was not removed. Start again.
			if err := removeDir(in.dir); err != nil {
				return nil, fmt.Errorf("replacing trace instance %s: %w", in.dir, err)
			}
			err = os.Mkdir(in.dir, 0o755)
			if err == nil {
				break
			}
			return nil, fmt.Errorf("creating trace instance %s: %w", in.dir, err)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("creating trace instance %s: %w (%w): tracefs lets only root create instances", in.dir, ErrPermission, err)
		default:
			return nil, fmt.Errorf("creating trace instance %s: %w (the kernel needs CONFIG_FTRACE with instances, Linux 3.10 or later)", in.dir, err)
		}
	}
	if err := in.configure(bufKB, mask); err != nil {
		in.Remove()
		return nil, err
	}
	return in, nil
}

// configure sets up a fresh instance.
func (in *Instance) configure(bufKB int, mask string) error {
	clocks, err := os.ReadFile(filepath.Join(in.dir, "trace_clock"))
	if err != nil {
		return fmt.Errorf("reading the trace clocks: %w", err)
	}
	if !hasClock(string(clocks), "mono") {
		return fmt.Errorf("the kernel offers no \"mono\" trace clock (offers: %s), so trace times cannot be matched to the loop's CLOCK_MONOTONIC: %w",
			strings.TrimSpace(string(clocks)), ErrNotSupported)
	}
	settings := []struct{ file, value string }{
		{"tracing_on", "0"},
		{"trace_clock", "mono"},
		{"buffer_size_kb", strconv.Itoa(bufKB)},
	}
	if mask != "" {
		settings = append(settings, struct{ file, value string }{"tracing_cpumask", mask})
	}
	for _, s := range settings {
		if err := in.write(s.file, s.value); err != nil {
			return err
		}
	}
	for _, ev := range Events {
		sys, name, _ := strings.Cut(ev, "/")
		if name != "*" {
			if in.enable(sys, name) {
				in.enabled = append(in.enabled, ev)
			}
			continue
		}
		ents, err := os.ReadDir(filepath.Join(in.dir, "events", sys))
		if err != nil {
			continue // the kernel has no such system
		}
		for _, e := range ents {
			if e.IsDir() && wantEvent(sys, e.Name()) && in.enable(sys, e.Name()) {
				in.enabled = append(in.enabled, sys+"/"+e.Name())
			}
		}
	}
	if len(in.enabled) == 0 || in.enabled[0] != "sched/sched_switch" {
		return fmt.Errorf("the kernel has no sched:sched_switch event in %s (it needs CONFIG_FTRACE and tracepoints): %w", in.dir, ErrNotSupported)
	}
	// Start from an empty buffer, then record.
	f, err := os.OpenFile(filepath.Join(in.dir, "trace"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("clearing the trace buffer: %w", err)
	}
	f.Close()
	return in.write("tracing_on", "1")
}

// hasClock reports whether the trace_clock text ("[local] global mono …")
// offers name.
func hasClock(text, name string) bool {
	for _, f := range strings.Fields(text) {
		if strings.Trim(f, "[]") == name {
			return true
		}
	}
	return false
}

// enable turns on one event, reporting whether it exists and was enabled.
func (in *Instance) enable(sys, name string) bool {
	return in.write(filepath.Join("events", sys, name, "enable"), "1") == nil
}

// write writes value to the instance's file.
func (in *Instance) write(file, value string) error {
	p := filepath.Join(in.dir, file)
	if err := os.WriteFile(p, []byte(value), 0); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("writing %q to %s: %w (%w): needs root", value, p, ErrPermission, err)
		}
		return fmt.Errorf("writing %q to %s: %w", value, p, err)
	}
	return nil
}

// mountTracefs makes sure tracefs is mounted at root, mounting it when
// mount is set and it is not. It reports whether it mounted it.
func mountTracefs(root string, mount bool) (bool, error) {
	if isTracefs(root) {
		return false, nil
	}
	if !mount {
		return false, fmt.Errorf("%s is not a tracefs mount (no %s): %w", root, filepath.Join(root, "instances"), ErrInvalid)
	}
	if _, err := os.Stat(root); err != nil {
		return false, fmt.Errorf("no %s: the kernel lacks CONFIG_FTRACE (tracefs), needed to trace on a threshold: %w", root, ErrNotSupported)
	}
	err := unix.Mount("nodev", root, "tracefs", 0, "")
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return false, fmt.Errorf("tracefs is not mounted at %s and mounting it was refused: %w (%w); mount it with `mount -t tracefs nodev %s` as root (needs CAP_SYS_ADMIN)",
			root, ErrPermission, err, root)
	case errors.Is(err, unix.ENODEV):
		return false, fmt.Errorf("mounting tracefs at %s: %w: the kernel lacks CONFIG_FTRACE (tracefs): %w", root, err, ErrNotSupported)
	default:
		return false, fmt.Errorf("mounting tracefs at %s (`mount -t tracefs nodev %s`): %w", root, root, err)
	}
}

// tracefsMagic is TRACEFS_MAGIC, the f_type of a tracefs mount.
const tracefsMagic = 0x74726163

func isTracefs(root string) bool {
	var st unix.Statfs_t
	if unix.Statfs(root, &st) == nil && st.Type == tracefsMagic {
		return true
	}
	// Not tracefs itself (debugfs's tracing directory, a test tree):
	// accept it when it has what an instance needs.
	_, err := os.Stat(filepath.Join(root, "instances"))
	return err == nil
}

// Sweep removes the instances under root/instances whose name is
// InstancePrefix and the PID of a process that no longer exists: those
// of rtcell processes that were killed before they could remove their
// own. It returns the names it removed.
func Sweep(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		return nil, fmt.Errorf("sweeping stale trace instances: %w", err)
	}
	var swept []string
	var errs []error
	for _, e := range ents {
		pid, ok := stalePID(e.Name())
		if !ok || pid == os.Getpid() || !errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			continue
		}
		if err := removeDir(filepath.Join(root, "instances", e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		swept = append(swept, e.Name())
	}
	return swept, errors.Join(errs...)
}

// removeDir removes an instance directory. The kernel refuses (EBUSY)
// while a file of the instance is open, as it is for a moment after a
// worker that held trace_marker exits; it retries for a second.
func removeDir(dir string) error {
	var err error
	for try := 0; try < 100; try++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("removing trace instance %s: %w", dir, err)
}

// Name is the instance's name, "rtcell-PID".
func (in *Instance) Name() string { return in.name }

// Dir is the instance's directory under tracefs.
func (in *Instance) Dir() string { return in.dir }

// Mounted reports whether NewInstance mounted tracefs.
func (in *Instance) Mounted() bool { return in.mounted }

// Swept lists the stale instances NewInstance removed.
func (in *Instance) Swept() []string { return in.swept }

// Enabled lists the events enabled, as "system/event".
func (in *Instance) Enabled() []string { return in.enabled }

// TriggerFiles opens the instance's trace_marker and tracing_on for
// writing, for NewTrigger (in this process or, passed on, in a worker).
// The caller closes them; Remove fails while any process holds them.
func (in *Instance) TriggerFiles() (marker, tracingOn *os.File, err error) {
	marker, err = os.OpenFile(filepath.Join(in.dir, "trace_marker"), os.O_WRONLY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the trace marker: %w", err)
	}
	tracingOn, err = os.OpenFile(filepath.Join(in.dir, "tracing_on"), os.O_WRONLY, 0)
	if err != nil {
		marker.Close()
		return nil, nil, fmt.Errorf("opening tracing_on: %w", err)
	}
	return marker, tracingOn, nil
}

// Stop turns recording off (tracing_on 0), as the trigger does.
func (in *Instance) Stop() error { return in.write("tracing_on", "0") }

// Recording reports whether the instance is recording (tracing_on 1).
func (in *Instance) Recording() (bool, error) {
	b, err := os.ReadFile(filepath.Join(in.dir, "tracing_on"))
	if err != nil {
		return false, fmt.Errorf("reading tracing_on: %w", err)
	}
	return strings.TrimSpace(string(b)) == "1", nil
}

// WriteTrace copies the instance's buffer as text (its trace file) to
// w. Reading does not consume the buffer; while the file is open the
// kernel pauses recording into the instance.
func (in *Instance) WriteTrace(w io.Writer) error {
	f, err := os.Open(filepath.Join(in.dir, "trace"))
	if err != nil {
		return fmt.Errorf("reading the trace: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("reading the trace: %w", err)
	}
	return nil
}

// Remove stops and removes the instance, freeing its buffer. It is safe
// to call more than once. It fails while a process still holds one of
// the instance's files open (waiting up to a second for it to go).
func (in *Instance) Remove() error {
	if in.removed {
		return nil
	}
	_ = in.write("tracing_on", "0")
	if err := removeDir(in.dir); err != nil {
		return err
	}
	in.removed = true
	return nil
}
