// Package registration announces a live agent in etcd: a record under
// /logcollect/agents/<id> attached to a lease that the agent keeps alive. The record
// disappears by itself within the lease TTL when the agent dies, is written again under a
// new lease when the lease is lost (a long etcd outage), and is deleted on clean shutdown.
package registration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
)

// Prefix is where live agents are listed, one key per agent id.
const Prefix = "/logcollect/agents/"

// Key returns the registration key of an agent.
func Key(id string) string { return Prefix + id }

// Record is the JSON value of a registration key.
type Record struct {
	ID          string    `json:"id"`
	Hostname    string    `json:"hostname"`
	IP          string    `json:"ip"`
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at"`
	CollectKeys []string  `json:"collect_keys"`
	Files       []string  `json:"files"`
	// Role is agent, transfer, sysagent or standalone; empty in records of older agents.
	Role string `json:"role,omitempty"`
	// Group and Topics are a transfer's consumer group and topics (or topic regex).
	Group  string   `json:"group,omitempty"`
	Topics []string `json:"topics,omitempty"`
}

// Options configure a Registrar.
type Options struct {
	Client *clientv3.Client
	// Record is what is announced; ID is required. Files can change later with SetFiles.
	Record Record
	// TTL of the lease: how long a dead agent stays listed. Default 10s.
	TTL time.Duration
	// MinBackoff and MaxBackoff pace retries while etcd is unreachable; default 200ms, 5s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Registerer             prometheus.Registerer
}

// Registrar keeps one agent's record alive. Build it with New, then call Run once.
type Registrar struct {
	opts   Options
	log    *slog.Logger
	update chan struct{}

	mu  sync.Mutex
	rec Record

	registrations prometheus.Counter
	leaseLost     prometheus.Counter
	registered    prometheus.Gauge
}

// New validates the options and allocates; it does not talk to etcd.
func New(opts Options) (*Registrar, error) {
	if opts.Client == nil {
		return nil, errors.New("registration: no etcd client")
	}
	if opts.Record.ID == "" {
		return nil, errors.New("registration: agent id is empty")
	}
	if strings.Contains(opts.Record.ID, "/") {
		return nil, fmt.Errorf("registration: agent id %q must not contain '/'", opts.Record.ID)
	}
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Second
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("registration: lease TTL %v is below etcd's 1s granularity", opts.TTL)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Registrar{
		opts:   opts,
		log:    opts.Logger.With("component", "registration", "id", opts.Record.ID),
		update: make(chan struct{}, 1),
		rec:    opts.Record,
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_registration_registrations_total",
			Help: "Times the agent record was written under a new lease.",
		}),
		leaseLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_registration_lease_lost_total",
			Help: "Times the registration lease expired or was revoked while the agent ran.",
		}),
		registered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_registration_registered",
			Help: "1 while the agent record is in etcd under a live lease.",
		}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{r.registrations, r.leaseLost, r.registered} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register registration metrics: %w", err)
			}
		}
	}
	return r, nil
}

// NewProcess is the Registrar of this process, the one way every subcommand announces
// itself: rec carries the role, its fields and an id when the role's differs from the host's
// (vars.ID); the host's name and IP, the version and the start time are filled in here.
func NewProcess(cli *clientv3.Client, vars etcdconf.Vars, rec Record, version string, ttl time.Duration,
	logger *slog.Logger, reg prometheus.Registerer) (*Registrar, error) {
	if rec.ID == "" {
		rec.ID = vars.ID
	}
	rec.Hostname, rec.IP, rec.Version, rec.StartedAt = vars.Hostname, vars.IP, version, time.Now().UTC()
	return New(Options{Client: cli, Record: rec, TTL: ttl, Logger: logger, Registerer: reg})
}

// SetEntries announces the files of the entries the agent now collects (their paths).
// A nil Registrar (a process without etcd) ignores it.
func (r *Registrar) SetEntries(list []entry.Entry) {
	if r == nil {
		return
	}
	paths := make([]string, len(list))
	for i, e := range list {
		paths[i] = e.Path
	}
	r.SetFiles(paths)
}

// SetFiles replaces the list of files the agent reads; the record is rewritten soon after.
func (r *Registrar) SetFiles(files []string) {
	files = slices.Clone(files)
	sort.Strings(files)
	r.mu.Lock()
	same := slices.Equal(files, r.rec.Files)
	r.rec.Files = files
	r.mu.Unlock()
	if same {
		return
	}
	select {
	case r.update <- struct{}{}:
	default: // an update is already pending; it will carry these files
	}
}

func (r *Registrar) value() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := json.Marshal(r.rec)
	if err != nil {
		return "", fmt.Errorf("encode agent record: %w", err)
	}
	return string(b), nil
}

// Run keeps the record registered until ctx ends, then revokes the lease (which deletes
// the record) and returns nil.
func (r *Registrar) Run(ctx context.Context) error {
	for {
		lease, ok := r.registerUntilOK(ctx)
		if !ok {
			return nil
		}
		lost := r.keepAlive(ctx, lease)
		r.registered.Set(0)
		if !lost {
			r.deregister(ctx, lease)
			return nil
		}
		r.leaseLost.Inc()
		r.log.Warn("registration lease lost; registering again", "lease", fmt.Sprintf("%x", int64(lease)))
	}
}

// registerUntilOK grants a lease and writes the record under it, retrying with backoff;
// ok is false when ctx ended first.
func (r *Registrar) registerUntilOK(ctx context.Context) (clientv3.LeaseID, bool) {
	delay := r.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		lease, err := r.register(ctx)
		if err == nil {
			r.registrations.Inc()
			r.registered.Set(1)
			r.log.Info("agent registered", "key", Key(r.opts.Record.ID), "lease", fmt.Sprintf("%x", int64(lease)), "ttl", r.opts.TTL)
			return lease, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		d := delay/2 + rand.N(delay/2+1)
		r.log.Warn("agent registration failed; retrying", "attempt", attempt, "next_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, false
		case <-t.C:
		}
		delay = min(delay*2, r.opts.MaxBackoff)
	}
}

// requestTimeout bounds one grant, put or renewal. Well under the TTL, so that a request
// stuck on a connection to a member that went silent (a network partition: nothing
// arrives, nothing fails until gRPC's keepalive gives up after 13 s) is given up and
// retried, and the client's balancer sends the retry through another endpoint, while
// the lease still has most of its TTL left.
func (r *Registrar) requestTimeout() time.Duration { return max(r.opts.TTL/6, 200*time.Millisecond) }

func (r *Registrar) register(ctx context.Context) (clientv3.LeaseID, error) {
	cli := r.opts.Client
	rctx, cancel := context.WithTimeout(ctx, r.requestTimeout())
	defer cancel()
	grant, err := cli.Grant(rctx, int64(r.opts.TTL/time.Second))
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	val, err := r.value()
	if err != nil {
		return 0, err
	}
	pctx, pcancel := context.WithTimeout(ctx, r.requestTimeout())
	defer pcancel()
	if _, err := cli.Put(pctx, Key(r.opts.Record.ID), val, clientv3.WithLease(grant.ID)); err != nil {
		_ = r.revoke(ctx, grant.ID)
		return 0, fmt.Errorf("put %s: %w", Key(r.opts.Record.ID), err)
	}
	return grant.ID, nil
}

// keepAlive renews the lease every TTL/3 and rewrites the record when it changes. It
// returns true when the lease is lost (revoked, expired, or not renewed for a whole TTL),
// false when ctx ended.
//
// Each renewal is its own request (KeepAliveOnce) with a short timeout, retried at once
// when it fails: the client picks an endpoint per request, so one member that went
// silent costs a retry, not the lease. The client's long-lived keepalive stream would
// stay on that member's connection until gRPC's keepalive closes it, 13 s later, and
// the default 10 s lease would expire first (seen in test/cluster).
func (r *Registrar) keepAlive(ctx context.Context, lease clientv3.LeaseID) bool {
	every := r.opts.TTL / 3
	renewed := time.Now()
	renew := time.NewTimer(every)
	defer renew.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-renew.C:
			err := r.renew(ctx, lease)
			switch {
			case err == nil:
				renewed = time.Now()
				renew.Reset(every)
			case ctx.Err() != nil:
				return false
			case errors.Is(err, rpctypes.ErrLeaseNotFound), time.Since(renewed) >= r.opts.TTL:
				return true
			default:
				renew.Reset(r.opts.MinBackoff)
			}
		case <-r.update:
			if err := r.put(ctx, lease); err != nil {
				r.log.Warn("updating the agent record failed; retrying", "err", err)
				retry.Reset(r.opts.MaxBackoff)
			}
		case <-retry.C:
			if err := r.put(ctx, lease); err != nil {
				r.log.Warn("updating the agent record failed; retrying", "err", err)
				retry.Reset(r.opts.MaxBackoff)
			}
		}
	}
}

// renew sends one keepalive for the lease; rpctypes.ErrLeaseNotFound when it is gone.
func (r *Registrar) renew(ctx context.Context, lease clientv3.LeaseID) error {
	rctx, cancel := context.WithTimeout(ctx, r.requestTimeout())
	defer cancel()
	_, err := r.opts.Client.KeepAliveOnce(rctx, lease)
	return err
}

func (r *Registrar) put(ctx context.Context, lease clientv3.LeaseID) error {
	val, err := r.value()
	if err != nil {
		return err
	}
	// Short like a renewal: keepAlive waits for it, and a put stuck on a silent member
	// for a whole TTL would cost the lease (seen in test/cluster).
	pctx, cancel := context.WithTimeout(ctx, r.requestTimeout())
	defer cancel()
	if _, err := r.opts.Client.Put(pctx, Key(r.opts.Record.ID), val, clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("put %s: %w", Key(r.opts.Record.ID), err)
	}
	return nil
}

// deregister revokes the lease on clean shutdown, which deletes the record at once.
func (r *Registrar) deregister(ctx context.Context, lease clientv3.LeaseID) {
	if err := r.revoke(ctx, lease); err != nil {
		r.log.Warn("deregistration failed; the record expires with its lease", "ttl", r.opts.TTL, "err", err)
		return
	}
	r.log.Info("agent deregistered", "key", Key(r.opts.Record.ID))
}

func (r *Registrar) revoke(ctx context.Context, lease clientv3.LeaseID) error {
	// ctx is usually cancelled by now: shutdown must still reach etcd, briefly.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, err := r.opts.Client.Revoke(rctx, lease)
	if err != nil {
		return fmt.Errorf("revoke lease %x: %w", int64(lease), err)
	}
	return nil
}

// List returns the live agents, sorted by id. A record that cannot be decoded is listed
// with its id only, so an operator still sees that the agent is there.
func List(ctx context.Context, cli *clientv3.Client) ([]Record, error) {
	resp, err := cli.Get(ctx, Prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", Prefix, err)
	}
	out := make([]Record, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var rec Record
		if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.ID == "" {
			rec = Record{ID: strings.TrimPrefix(string(kv.Key), Prefix)}
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
