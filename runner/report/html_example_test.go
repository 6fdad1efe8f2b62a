package report_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	"github.com/rtcell/rtcell/runner/report"
)

// A run JSON rendered as the commissioning report. On a box, write the
// file with atomicfile.Write(path, func(w io.Writer) error { return
// report.WriteHTML(w, reps, o) }, 0o644).
func ExampleWriteHTML() {
	f, err := os.Open("testdata/html/notrt-violations.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	rep, err := report.ReadJSON(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	var b bytes.Buffer
	if err := report.WriteHTML(&b, []*report.Report{rep}, report.HTMLOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	banner := regexp.MustCompile(`<div class="word">(.*)</div>`).FindStringSubmatch(b.String())
	fmt.Println(banner[1])
	for _, m := range regexp.MustCompile(`<li>(.*)</li>`).FindAllStringSubmatch(b.String(), 3) {
		fmt.Println("-", m[1])
	}
	// Output:
	// NOT REAL-TIME
	// - the kernel is not PREEMPT_RT (6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0)
	// - task latency: 3 deadline misses, 1 overruns, 0 missed releases in 10000 cycles
	// - task io: 12 deadline misses, 6 overruns, 0 missed releases in 10000 cycles
}
