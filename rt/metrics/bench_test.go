package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
)

// BenchmarkScrape4Tasks is one scrape of four tasks that have run: copy
// four blocks, compute their summaries, format the exposition.
func BenchmarkScrape4Tasks(b *testing.B) {
	var tasks []Task
	for i := range 4 {
		name := fmt.Sprintf("task-%d", i)
		tasks = append(tasks, Task{Name: name, Source: runTestLoop(b, name, 100)})
	}
	c := static(tasks...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler4Tasks is the same scrape through the HTTP handler.
func BenchmarkHandler4Tasks(b *testing.B) {
	var tasks []Task
	for i := range 4 {
		name := fmt.Sprintf("task-%d", i)
		tasks = append(tasks, Task{Name: name, Source: runTestLoop(b, name, 100)})
	}
	h := Handler(static(tasks...))
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
