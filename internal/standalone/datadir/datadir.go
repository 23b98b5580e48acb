// Package datadir is what `logcollect standalone` keeps in its data directory for the local
// tools: the embedded etcd's root password and how `logcollect ctl --data-dir` reaches that
// etcd (its address and the standalone's effective agent.allowed_paths). It is a leaf
// package so ctl can read these files without linking the standalone.
package datadir

import (
	"crypto/rand"
	"encoding/hex"
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
	// TokenFile holds the standalone's HTTP access token, used when http.auth is not
	// configured (mode 0600).
	TokenFile = "http-token"
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

// RootPassword returns the embedded etcd's root password kept in dir, creating it on first
// use; created says which.
func RootPassword(dir string) (pw string, created bool, err error) { return Secret(dir, PasswordFile) }

// ReadRootPassword reads the password file of dir; the error wraps fs.ErrNotExist when
// there is none.
func ReadRootPassword(dir string) (string, error) {
	pw, err := ReadSecret(dir, PasswordFile)
	if err != nil {
		return "", fmt.Errorf("the embedded etcd's root password: %w", err)
	}
	return pw, nil
}

// Secret returns the secret in dir/name (the etcd root password, the HTTP access token),
// making it the first time: 32 random bytes in hex, mode 0600, created whole or not at
// all — a temporary file linked into place, so two starts racing agree on one secret and
// nobody reads a half-written one. created says whether this call made it.
func Secret(dir, name string) (value string, created bool, err error) {
	value, err = ReadSecret(dir, name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return value, false, err
	}
	if err := createSecret(dir, name); err != nil {
		return "", false, err
	}
	value, err = ReadSecret(dir, name)
	return value, err == nil, err
}

// ReadSecret reads dir/name, refusing one that others can read; the error wraps
// fs.ErrNotExist when there is none.
func ReadSecret(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

func createSecret(dir, name string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("random %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, name+".tmp-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// A link, unlike a rename, never replaces: the first start to get here wins.
	path := filepath.Join(dir, name)
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
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
