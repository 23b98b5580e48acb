package e2etest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a real server so a test can take the server away from
// one client while others still reach it: Cut closes everything (the client sees the
// connection drop and a refused reconnect), Blackhole keeps the connections but drops every
// byte (a network partition: nothing arrives, nothing fails until a timeout notices).
type Proxy struct {
	t      testing.TB
	addr   string
	target string
	holed  atomic.Bool
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	served atomic.Int64 // connections accepted, ever
}

// NewProxy listens on a free loopback port and forwards to target; the test's cleanup cuts it.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.addr }

// Open returns how many client connections are open through the proxy now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2 // each client connection has its upstream twin
}

// Accepted returns how many client connections the proxy accepted since it was made.
func (p *Proxy) Accepted() int64 { return p.served.Load() }

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.served.Add(1)
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
}

// pipe copies src to dst, dropping what it reads while the proxy is blackholed.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.holed.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: close both sides
		}
	}
}

// Cut closes the listener and every connection: the target is unreachable through the proxy.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Blackhole drops every byte in both directions from now on, on open connections and on
// new ones, without closing anything.
func (p *Proxy) Blackhole() { p.holed.Store(true) }

// Restore ends a Cut or a Blackhole: connections that lost bytes are closed, and the proxy
// forwards again on the same address.
func (p *Proxy) Restore() {
	p.t.Helper()
	if p.holed.Swap(false) {
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	listening := p.ln != nil
	p.mu.Unlock()
	if listening {
		return
	}
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the port can stay busy for a moment
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
