// Package fileid identifies a log file across renames, restarts and inode reuse: the
// device and inode from stat data (no I/O) plus a fingerprint of the file's first bytes.
//
// Device + inode alone is fooled when a deleted file's inode is reused by a new file; a
// fingerprint alone is fooled by two files that start with the same bytes (a common
// header line). Together they are neither.
//
// A file shorter than the fingerprint size has no fingerprint yet (Fingerprint ""). Its
// first bytes are still hashed as a Prefix (hash + length) so the engine can tell, once
// the file has grown, whether a checkpoint taken while it was short belongs to it. See
// Prefix and checkpoint.Store.Lookup.
package fileid

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// DefaultFingerprintBytes is how many leading bytes make a file's fingerprint.
const DefaultFingerprintBytes = 1024

// sumBytes is how much of the SHA-256 is kept: 128 bits make a collision between two
// different prefixes negligible and keep checkpoint keys short.
const sumBytes = 16

// ID is a file's identity.
type ID struct {
	Dev, Ino uint64
	// Fingerprint is the hex hash of the first n bytes (n = DefaultFingerprintBytes unless
	// the engine says otherwise); "" while the file is shorter than n.
	Fingerprint string
}

// String returns "dev:ino", the file_id header of a Kafka record.
func (id ID) String() string {
	b := make([]byte, 0, 41)
	b = strconv.AppendUint(b, id.Dev, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, id.Ino, 10)
	return string(b)
}

// Key returns "dev:ino:fingerprint", the checkpoint key. A file without a fingerprint yet
// has the key "dev:ino:"; when it grows past n bytes its key changes, which
// checkpoint.Store.Lookup handles.
func (id ID) Key() string {
	b := make([]byte, 0, 42+len(id.Fingerprint))
	b = strconv.AppendUint(b, id.Dev, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, id.Ino, 10)
	b = append(b, ':')
	b = append(b, id.Fingerprint...)
	return string(b)
}

// SameInode reports whether both IDs name the same device and inode. It says nothing
// about whether the inode still holds the same file; compare fingerprints or prefixes.
func (id ID) SameInode(other ID) bool { return id.Dev == other.Dev && id.Ino == other.Ino }

// Prefix is the hash of a file's first Len bytes. Len is min(size, n) when read, so even a
// short or empty file has one. A file only ever appended to keeps matching its Prefix.
type Prefix struct {
	Len int
	Sum string // hex; equals the ID's Fingerprint when Len == n
}

// Complete reports whether the prefix covers n bytes, i.e. its Sum is the fingerprint.
func (p Prefix) Complete(n int) bool { return p.Len >= n }

// Matches reports whether f's first p.Len bytes hash to p.Sum. A file now shorter than
// p.Len (truncated) does not match. An empty prefix matches every file: nothing was read
// from it, so nothing can be skipped by mistake.
func (p Prefix) Matches(f io.ReaderAt) (bool, error) {
	if p.Len == 0 {
		return true, nil
	}
	got, err := ReadPrefix(f, p.Len)
	if err != nil {
		return false, err
	}
	return got.Len == p.Len && got.Sum == p.Sum, nil
}

// FromInfo returns the device and inode from stat data, without I/O. It returns 0, 0 when
// the platform or the FileInfo has no such data.
func FromInfo(fi os.FileInfo) (dev, ino uint64) { return fromSys(fi) }

// Fingerprint returns the hex hash of f's first n bytes, read with ReadAt (the read position
// of an *os.File is untouched), or "" if f has fewer than n bytes.
func Fingerprint(f io.ReaderAt, n int) (string, error) {
	p, err := ReadPrefix(f, n)
	if err != nil || p.Len < n {
		return "", err
	}
	return p.Sum, nil
}

// ReadPrefix hashes f's first min(size, n) bytes.
func ReadPrefix(f io.ReaderAt, n int) (Prefix, error) {
	if n <= 0 {
		return Prefix{}, fmt.Errorf("fingerprint size %d: must be positive", n)
	}
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := f.ReadAt(buf[got:], int64(got))
		got += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Prefix{}, fmt.Errorf("read first %d bytes: %w", n, err)
		}
		if m == 0 {
			// A ReaderAt returning (0, nil) breaks its contract; stop rather than spin.
			return Prefix{}, fmt.Errorf("read first %d bytes: %w", n, io.ErrNoProgress)
		}
	}
	return Prefix{Len: got, Sum: sum(buf[:got])}, nil
}

// Of returns the identity and prefix of an open file: fstat for dev/ino, then the first n
// bytes. ID.Fingerprint is set when the file has at least n bytes.
func Of(f *os.File, n int) (ID, Prefix, error) {
	fi, err := f.Stat()
	if err != nil {
		return ID{}, Prefix{}, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	p, err := ReadPrefix(f, n)
	if err != nil {
		return ID{}, Prefix{}, fmt.Errorf("fingerprint %s: %w", f.Name(), err)
	}
	id := ID{}
	id.Dev, id.Ino = FromInfo(fi)
	if p.Complete(n) {
		id.Fingerprint = p.Sum
	}
	return id, p, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:sumBytes])
}
