package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandler(t *testing.T) {
	loop := runTestLoop(t, "http", 30)
	srv := httptest.NewServer(Handler(static(Task{Name: "http", Source: loop})))
	defer srv.Close()

	resp, body := get(t, srv.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	e, err := parseExposition(body)
	if err != nil {
		t.Fatalf("invalid exposition over HTTP: %v", err)
	}
	if n, _ := e.value("rtcell_task_cycles_total", "task", "http"); n != 30 {
		t.Errorf("cycles %v over HTTP, want 30", n)
	}

	head, err := http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK || head.Header.Get("Content-Type") != ContentType {
		t.Errorf("HEAD: %s, %q", head.Status, head.Header.Get("Content-Type"))
	}

	post, err := http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", post.Status)
	}
}

func TestHandlerError(t *testing.T) {
	srv := httptest.NewServer(Handler(static(Task{Name: "a"}, Task{Name: "a"})))
	defer srv.Close()
	resp, body := get(t, srv.URL)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "unique") {
		t.Errorf("duplicate names: %s %q, want 500 with the reason", resp.Status, body)
	}
}

// TestServeListener serves on a real loopback port, scrapes /metrics and
// shuts down cleanly when the context ends.
func TestServeListener(t *testing.T) {
	loop := runTestLoop(t, "served", 10)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeListener(ctx, ln, static(Task{Name: "served", Source: loop})) }()

	resp, body := get(t, "http://"+addr+"/metrics")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ContentType {
		t.Fatalf("/metrics: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := parseExposition(body); err != nil {
		t.Fatalf("invalid exposition: %v", err)
	}
	if resp, _ := get(t, "http://"+addr+"/"); resp.StatusCode != http.StatusOK {
		t.Errorf("/: %s", resp.Status)
	}
	if resp, _ := get(t, "http://"+addr+"/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %s, want 404", resp.Status)
	}

	cancel()
	if err := <-served; err != nil {
		t.Fatalf("ServeListener after cancel: %v, want nil", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after shutdown", addr)
	}
}

func TestServeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Serve(context.Background(), ln.Addr().String(), static())
	if err == nil || !strings.Contains(err.Error(), "listening") {
		t.Errorf("Serve on a port in use: %v, want a listening error", err)
	}

	// A listener that fails makes ServeListener return the error.
	bad, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bad.Close()
	err = ServeListener(context.Background(), bad, static())
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ServeListener on a closed listener: %v, want an error", err)
	}
}
