package standalone

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the standalone's access token in the data directory, used when http.auth
// is not configured: readable by the data directory's owner only.
const TokenFile = "http-token"

// AccessToken returns the token in dataDir/http-token, making it the first time: random,
// mode 0600, in a 0700 directory, created whole or not at all (a temporary file linked
// into place, so two starts racing agree on one token and nobody reads a half-written one).
func AccessToken(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, TokenFile)
	tok, err := readToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	if err := createToken(dataDir, path); err != nil {
		return "", err
	}
	return readToken(path)
}

func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %v): chmod 600 it, or delete it for a new token", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read access token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty: delete it for a new token", path)
	}
	return tok, nil
}

func createToken(dir, path string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("random token: %w", err)
	}
	tmp, err := os.CreateTemp(dir, TokenFile+".tmp-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("create access token: %w", err)
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
		return fmt.Errorf("write access token: %w", err)
	}
	// A link, unlike a rename, never replaces: the first start to get here wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}
