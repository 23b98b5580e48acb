// Package httpserver serves a process's /metrics and /healthz (and any extra handlers the
// subcommand mounts, such as the standalone web UI) on http.listen.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports a component's health: nil when healthy, an error saying what is wrong,
// or an Info.
type Check func() error

// Info is a check result /healthz shows without calling the process degraded: a state
// worth seeing that no supervisor should act on (a transfer with no partitions assigned).
type Info string

func (i Info) Error() string { return string(i) }

// Server is the process's HTTP listener.
type Server struct {
	listen   string
	mux      *http.ServeMux
	logger   *slog.Logger
	checks   map[string]Check
	listener net.Listener
	access   Access
}

// Config is where the server listens and whom it answers.
type Config struct {
	// Listen is host:port (http.listen, sysagent.prometheus_listen); port 0 picks a free one.
	Listen string
	// Access is the names and the credential the server requires (guard.go). Zero: the
	// listen address's names, no credential.
	Access Access
	// Pprof mounts Go's profiler under /debug/pprof/ (http.pprof).
	Pprof bool
}

// Deps are the server's collaborators. Gatherer is required.
type Deps struct {
	// Gatherer is served at /metrics.
	Gatherer prometheus.Gatherer
	// Checks are reported at /healthz, by name; nil or empty is always healthy.
	Checks map[string]Check
	// Logger; discarded when nil. The server adds component=http.
	Logger *slog.Logger
}

// New prepares a server on cfg.Listen. Nothing listens until Listen or Run.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Gatherer == nil {
		return nil, errors.New("httpserver: no gatherer for /metrics")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{listen: cfg.Listen, mux: http.NewServeMux(), logger: deps.Logger.With("component", "http"),
		checks: deps.Checks, access: cfg.Access}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	if cfg.Pprof {
		s.enablePprof()
	}
	return s, nil
}

// enablePprof mounts Go's profiler under /debug/pprof/ (http.pprof).
func (s *Server) enablePprof() {
	s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// Handle mounts an extra handler (API, UI).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Listen binds the address now, so a caller knows the port (and a busy port fails at
// start-up, before anything runs). Run calls it when the caller did not.
func (s *Server) Listen() (net.Addr, error) {
	if s.listener == nil {
		l, err := net.Listen("tcp", s.listen)
		if err != nil {
			return nil, fmt.Errorf("http.listen %s: %w", s.listen, err)
		}
		s.listener = l
	}
	return s.listener.Addr(), nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	addr, err := s.Listen()
	if err != nil {
		return err
	}
	g, err := newGuard(s.access, s.listen, addr, s.mux)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	s.logger.Info("serving /metrics and /healthz", "addr", addr.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.listener) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

type healthReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	rep := healthReport{Status: "ok", Checks: map[string]string{}}
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var info Info
		switch err := s.checks[name](); {
		case err == nil:
			rep.Checks[name] = "ok"
		case errors.As(err, &info):
			rep.Checks[name] = info.Error()
		default:
			rep.Status = "degraded"
			rep.Checks[name] = err.Error()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}
