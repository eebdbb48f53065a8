// Package standin is what the stand-in images share: probes, a graceful HTTP server, and the
// Prometheus text exposition of counters and histograms.
package standin

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Probes answers /healthz while the process lives and /readyz while it is ready and not
// shutting down: Kubernetes takes a pod out of its Services on the first failed readiness.
type Probes struct {
	ready    atomic.Bool
	stopping atomic.Bool
}

// SetReady marks the process ready (or not).
func (p *Probes) SetReady(ready bool) { p.ready.Store(ready) }

// Stopping says whether SIGTERM arrived.
func (p *Probes) Stopping() bool { return p.stopping.Load() }

// Register adds /healthz and /readyz to mux.
func (p *Probes) Register(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if p.ready.Load() && !p.stopping.Load() {
			_, _ = w.Write([]byte("ready\n"))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
	})
}

// Serve runs handler on addr until SIGTERM or SIGINT, then shuts down as a pod should: it
// stops being ready, answers every further request with `Connection: close` (so keep-alive
// clients such as nginx move to other pods instead of meeting a closed connection), keeps
// accepting for `drain` while the Service's endpoints and kube-proxy's rules catch up, and
// then waits for the requests in flight.
func Serve(addr string, handler http.Handler, probes *Probes, drain time.Duration) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Longer than nginx's upstream keepalive_timeout (4 s): nginx closes idle connections
		// first, so it never reuses one this server is closing.
		IdleTimeout: 60 * time.Second,
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- server.Serve(listener) }()
	select {
	case err := <-done:
		return err
	case sig := <-signals:
		log.Printf("%s: draining for %s, then shutting down", sig, drain)
	}
	probes.stopping.Store(true)
	server.SetKeepAlivesEnabled(false)
	time.Sleep(drain)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Printf("stopped")
	return nil
}

// EnvDuration reads a duration in seconds from the environment, or def.
func EnvDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v + "s"); err == nil {
			return d
		}
		log.Printf("ignoring %s=%q: not a number of seconds", name, v)
	}
	return def
}
