// Package datadir is what `logcollect standalone` keeps in its data directory for the local
// tools: the embedded etcd's root password and how `logcollect ctl --data-dir` reaches that
// etcd (its address and the standalone's effective agent.allowed_paths). It is a leaf
// package so ctl can read these files without linking the standalone.
package datadir

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/logcollect/logcollect/internal/atomicfile"
)

// File names inside the data directory.
const (
	// PasswordFile holds the embedded etcd's root password (mode 0600).
	PasswordFile = "etcd-root-password"
	// ClientFile holds Client as JSON.
	ClientFile = "etcd-client.json"
)

// Client is how local tools talk to the standalone's embedded etcd.
type Client struct {
	// Endpoint is the embedded etcd's client address (--etcd-listen).
	Endpoint string `json:"endpoint"`
	// AllowedPaths is the standalone's effective agent.allowed_paths, so ctl refuses
	// what the standalone would refuse.
	AllowedPaths []string `json:"allowed_paths"`
}

// Prepare creates dir if needed and makes it private (0700): it holds the password, the
// stored logs and the checkpoints.
func Prepare(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("--data-dir %s: make it private (0700): %w", dir, err)
	}
	return nil
}

// RootPassword returns the password kept in dir, creating a random one (0600) on first
// use; created says which.
func RootPassword(dir string) (pw string, created bool, err error) {
	pw, err = ReadRootPassword(dir)
	if err == nil {
		return pw, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("generate the etcd root password: %w", err)
	}
	pw = base64.RawURLEncoding.EncodeToString(b)
	path := filepath.Join(dir, PasswordFile)
	if err := atomicfile.Write(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write the etcd root password: %w", err)
	}
	return pw, true, nil
}

// ReadRootPassword reads the password file of dir; the error wraps fs.ErrNotExist when
// there is none.
func ReadRootPassword(dir string) (string, error) {
	path := filepath.Join(dir, PasswordFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the embedded etcd's root password: %w", err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("%s is empty: remove it only together with the data dir's etcd/", path)
	}
	return pw, nil
}

// WriteClient records c in dir (0600).
func WriteClient(dir string, c Client) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", ClientFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ClientFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", ClientFile, err)
	}
	return nil
}

// ReadClient reads what WriteClient recorded in dir.
func ReadClient(dir string) (Client, error) {
	var c Client
	b, err := os.ReadFile(filepath.Join(dir, ClientFile))
	if err != nil {
		return c, fmt.Errorf("read %s (has a standalone started with this data dir?): %w", ClientFile, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode %s: %w", filepath.Join(dir, ClientFile), err)
	}
	return c, nil
}
