//go:build integration

package sysagent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// `logcollect sysagent` on its own: it registers in the real etcd with role sysagent,
// serves /healthz (healthy once InfluxDB took a write) and the host metrics on
// prometheus_listen, and deregisters on SIGTERM.
func TestSysagentBinaryRegistersAndServes(t *testing.T) {
	t.Parallel()
	eps := testenv.EtcdEndpoints(t)
	influx := testenv.InfluxDBURL(t)
	id := "it-sysagent-bin-" + suffix(t)
	db := "logcollect_it_" + strings.ReplaceAll(id, "-", "_")
	httpAddr, promAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`agent:
  id: %s
etcd:
  endpoints: [%s]
  lease_ttl: 2s
sysagent:
  interval: 1s
  influxdb: {url: "%s", database: %s}
  prometheus_listen: %s
http:
  listen: %s
`, id, eps[0], influx, db, promAddr, httpAddr)
	path := filepath.Join(dir, "sysagent.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = tryInfluxQuery(influx, "", `DROP DATABASE "`+db+`"`) })
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	p := startBinary(t, testenv.BinaryFor(t, "sysagent"), "sysagent", "--config", path)
	key := registration.Key(id + "-sysagent")
	var rec registration.Record
	await.Until(t, 15*time.Second, "the sysagent record in etcd", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, key)
		return err == nil && len(resp.Kvs) == 1 && json.Unmarshal(resp.Kvs[0].Value, &rec) == nil
	})
	if rec.Role != "sysagent" || rec.ID != id+"-sysagent" || rec.Hostname == "" {
		t.Errorf("record %+v, want role sysagent, id %s-sysagent and a hostname", rec, id)
	}
	await.Until(t, 15*time.Second, "/healthz to be healthy after the first write", func() bool {
		code, _ := httpGet(t, "http://"+httpAddr+"/healthz")
		return code == 200
	})
	if _, body := httpGet(t, "http://"+promAddr+"/metrics"); !strings.Contains(body, "logcollect_host_memory_total_bytes{") {
		t.Errorf("prometheus_listen /metrics lacks the host metrics")
	}

	p.stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 0 {
		t.Errorf("record still in etcd after SIGTERM (err %v)", err)
	}
}
