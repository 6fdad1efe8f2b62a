package rt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/rtcell/rtcell/rt/internal/worker"
)

// Some tests need a process of their own: the runtime settings an RT loop
// needs (GOMAXPROCS=1, asyncpreemptoff=1, GOGC=off) only take effect at
// start-up, and the test binary runs without them. Such a test re-executes
// the test binary with envChild naming one of children; TestMain runs
// that child instead of the tests and prints its JSON result.
const envChild = "RTCELL_TEST_CHILD"

var children = map[string]func() (any, error){}

func TestMain(m *testing.M) {
	if name := os.Getenv(envProgram); name != "" {
		Main(programs[name]()) // supervisor or worker: never returns
	}
	if IsWorker() {
		p := workerTasks()
		p.Tasks = append(p.Tasks, ExampleTasks...)
		Main(p) // worker_test.go and example_test.go: never returns
	}
	if name := os.Getenv(envChild); name != "" {
		f, ok := children[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown child %q\n", name)
			os.Exit(3)
		}
		v, err := f()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		json.NewEncoder(os.Stdout).Encode(v)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs child name in a fresh process, with the RT runtime
// settings in its environment when rtEnv is set, and decodes its output
// into out.
func runChild(t *testing.T, name string, rtEnv bool, out any) {
	t.Helper()
	env := os.Environ()
	if rtEnv {
		env = worker.Environ(env, 0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(env, envChild+"="+name)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\nstderr:\n%s", name, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("child %s: decoding %q: %v", name, stdout.String(), err)
	}
}

// testThread is the thread set-up for loops in tests: SCHED_FIFO 80 on the
// last CPU as root, the normal policy otherwise (the loop logic is the
// same; only the latency is not real-time).
func testThread() ThreadOptions {
	if os.Geteuid() == 0 {
		return ThreadOptions{CPU: lastCPU(), Pin: true, Policy: PolicyFIFO, Priority: 80}
	}
	return ThreadOptions{CPU: -1, Policy: PolicyOther, NoMlock: true, NoDMALatency: true}
}
