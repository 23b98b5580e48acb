//go:build integration

package cluster

import (
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// TestEtcdMemberPartitioned: the agent lists three etcd endpoints, each a proxy in front of
// one member, but only the first is reachable when it starts, so it is connected through
// that member alone. That member is then partitioned away (its proxy drops every byte and
// keeps the connections open, as a network partition does) while the other two become
// reachable. The agent must notice on its own, fail over to the other endpoints, apply the
// entry changed meanwhile, stay registered all along and lose no line.
func TestEtcdMemberPartitioned(t *testing.T) {
	etcdTest(t)
	eps := etcdCluster(t)
	cli := e2etest.EtcdClient(t, eps)
	proxies := make([]*e2etest.Proxy, len(eps))
	addrs := make([]string, len(eps))
	for i, ep := range eps {
		proxies[i] = e2etest.NewProxy(t, ep)
		addrs[i] = proxies[i].Addr()
	}
	proxies[1].Cut()
	proxies[2].Cut()

	const leaseTTL = 10 * time.Second // the default
	agent := startEtcdAgent(t, cli, addrs, "partition", leaseTTL)
	key, dir, id := agent.key, agent.dir, agent.id
	if proxies[0].Open() == 0 || proxies[1].Accepted() != 0 || proxies[2].Accepted() != 0 {
		t.Fatalf("want the agent connected through member 1 only; connections open/accepted: %d/%d, %d/%d, %d/%d",
			proxies[0].Open(), proxies[0].Accepted(), proxies[1].Open(), proxies[1].Accepted(), proxies[2].Open(), proxies[2].Accepted())
	}

	entry0, marker0 := markerFile(t, dir, "before")
	entry1, marker1 := markerFile(t, dir, "during")
	out := watchOutput(t, agent.out(), marker0, marker1)
	at := ctlAdd(t, eps[1], key, entry0)
	t.Logf("through member 1, a change applied in %s", out.await(t, marker0, 5*time.Second).Sub(at).Round(time.Millisecond))

	// From the partition on, the agent's record is sampled until the change is applied
	// and a lease TTL more has passed: it must never be missing.
	proxies[0].Blackhole()
	proxies[1].Restore()
	proxies[2].Restore()
	cut := time.Now()
	samples, missing := 0, 0
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond): // sampling interval
			}
			samples++
			if !registered(t, cli, id) {
				missing++
			}
		}
	}()
	at = ctlAdd(t, eps[2], key, entry1)
	// The agent's gRPC keepalive (10 s, 3 s timeout) finds the silent connection dead; its
	// watch then resumes through another member.
	applied := out.await(t, marker1, 25*time.Second)
	t.Logf("member 1 partitioned: the change made %s later applied %s after the partition",
		at.Sub(cut).Round(time.Millisecond), applied.Sub(cut).Round(time.Millisecond))
	if proxies[1].Open()+proxies[2].Open() == 0 {
		t.Errorf("the agent has no connection through members 2 and 3")
	}
	time.Sleep(time.Until(applied.Add(leaseTTL))) // a whole lease TTL after the failover, still sampling
	close(stopSampling)
	<-sampled
	t.Logf("registration sampled %d times over %s: missing %d times", samples, time.Since(cut).Round(time.Second), missing)
	if missing > 0 {
		t.Errorf("the agent's record was missing in %d of %d samples during and after the partition", missing, samples)
	}
	if n := agent.LogCount("registration lease lost"); n != 0 {
		t.Errorf("the registration lease was lost %d times during the partition, want 0", n)
	}
	requireEveryLine(t, agent.out(), agent.stopWriter())
	if !agent.Running() {
		t.Fatal("the agent exited")
	}
	agent.Stop()
}
