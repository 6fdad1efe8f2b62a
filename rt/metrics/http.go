package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where Serve listens when given no address: loopback
// only, so the task statistics are not on the network unless asked for.
const DefaultAddr = "127.0.0.1:9101"

// Handler serves the collector's exposition on GET and HEAD, with
// Content-Type ContentType. A scrape that cannot be collected (duplicate
// task names) gets status 500 with the reason.
func Handler(c *Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		if err := c.WriteText(&buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(buf.Bytes())
	})
}

// Serve listens on addr (DefaultAddr when empty) and serves the
// exposition at /metrics until ctx ends, then shuts the server down,
// letting scrapes in progress finish for up to 5 s. It returns nil after
// a shutdown caused by ctx, or the error that stopped it.
//
// Any address is accepted. An address other than loopback (":9101",
// "0.0.0.0:9101", a LAN address) exposes the task statistics, and the
// box's timing behaviour, to everyone who can reach the port, without
// authentication: bind to loopback and let a local Prometheus agent or
// node_exporter's textfile collector (WriteTextfile) carry them off the
// box, or restrict the port with a firewall.
func Serve(ctx context.Context, addr string, c *Collector) error {
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for metrics scrapes on %s: %w (is another exporter on the port? choose another with [report] metrics)", addr, err)
	}
	return ServeListener(ctx, ln, c)
}

// ServeListener is Serve on a listener the caller opened (for example on
// port 0, or one passed by systemd socket activation). It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, c *Collector) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(c))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "rtcell task metrics: GET /metrics")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	stopped := make(chan error, 1)
	serveDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-serveDone:
			stopped <- nil
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	close(serveDone)
	shutErr := <-stopped
	if !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
		return fmt.Errorf("serving metrics on %s: %w", ln.Addr(), err)
	}
	if shutErr != nil {
		return fmt.Errorf("shutting down the metrics server on %s: %w", ln.Addr(), shutErr)
	}
	return nil
}
