package etcdconf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
	"github.com/logcollect/logcollect/internal/testing/tlstest"
)

// roundTrip writes and reads a key with a client built by NewClient.
func roundTrip(t *testing.T, cfg config.Etcd) error {
	t.Helper()
	cli, err := NewClient(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "tls-auth-probe", "x"); err != nil {
		return err
	}
	resp, err := cli.Get(ctx, "tls-auth-probe")
	if err != nil {
		return err
	}
	if len(resp.Kvs) != 1 {
		return errors.New("value not read back")
	}
	return nil
}

func TestNewClientTLS(t *testing.T) {
	pair := tlstest.SelfSigned(t)
	cert, key := pair.CertFile, pair.KeyFile
	srv := etcdtest.StartTLS(t, cert, key)
	tests := []struct {
		name    string
		tls     config.TLS
		wantErr bool
	}{
		{"trusted CA", config.TLS{Enabled: true, CAFile: cert}, false},
		{"client certificate too", config.TLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key}, false},
		{"insecure skip verify", config.TLS{Enabled: true, InsecureSkipVerify: true}, false},
		{"unknown CA", config.TLS{Enabled: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := roundTrip(t, config.Etcd{Endpoints: srv.Endpoints(), DialTimeout: config.Duration(time.Second), TLS: tt.tls})
			if (err != nil) != tt.wantErr {
				t.Fatalf("round trip err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientAuth(t *testing.T) {
	srv := etcdtest.Start(t)
	admin := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := admin.UserAdd(ctx, "root", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
		wantErr          string
	}{
		{"right password", "root", "s3cret", ""},
		{"wrong password", "root", "nope", "authentication failed"},
		{"no credentials", "", "", "user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := roundTrip(t, config.Etcd{Endpoints: srv.Endpoints(), DialTimeout: config.Duration(5 * time.Second), Username: tt.user, Password: tt.pass})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("round trip err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientWithoutEndpoints(t *testing.T) {
	if _, err := NewClient(config.Etcd{}); !errors.Is(err, ErrNoEtcd) {
		t.Fatalf("NewClient without endpoints: %v", err)
	}
}
