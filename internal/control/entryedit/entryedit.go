// Package entryedit is the one implementation of editing a collect key in etcd: read the
// value with its mod revision, validate new entries exactly as the agent validates an etcd
// value, and write them with a compare-and-swap on the revision they were read at, so a
// concurrent edit is never overwritten silently. `logcollect ctl` and the standalone's
// PUT /api/entries both use it.
package entryedit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// ErrConflict is wrapped by a ConflictError.
var ErrConflict = errors.New("conflict")

// ConflictError says the key changed since the revision the caller read it at.
type ConflictError struct {
	Key               string
	Expected, Current int64 // mod revisions; 0: absent
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s changed since revision %d (now %d)", e.Key, e.Expected, e.Current)
}

// Unwrap lets errors.Is(err, ErrConflict) match.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// FieldError names the entry and field that fail validation, as entries[1].topic.
type FieldError struct {
	Field string // "entries[1].topic"; "entries" when the list as a whole is wrong
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Current is a key's value as read.
type Current struct {
	Exists   bool
	Revision int64 // mod revision; 0 when absent
	Raw      []byte
	Entries  []entry.Entry
	Err      error // the stored value does not parse or validate (agents reject it)
}

// Read reads a key and parses its value with the agent's rules.
func Read(ctx context.Context, cli *clientv3.Client, key string, allowed []string) (Current, error) {
	resp, err := cli.Get(ctx, key)
	if err != nil {
		return Current{}, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return Current{}, nil
	}
	kv := resp.Kvs[0]
	return Parse(kv.Value, kv.ModRevision, allowed), nil
}

// Parse is Read's parsing of a stored value.
func Parse(value []byte, rev int64, allowed []string) Current {
	cur := Current{Exists: true, Revision: rev, Raw: value}
	if len(strings.TrimSpace(string(value))) > 0 {
		cur.Entries, cur.Err = entry.ParseList(value, allowed)
	}
	return cur
}

// Write stores value if the key's mod revision is still rev (0: the key must not exist);
// force writes unconditionally. It returns the new revision, or a *ConflictError.
func Write(ctx context.Context, cli *clientv3.Client, key string, value []byte, rev int64, force bool) (int64, error) {
	if force {
		resp, err := cli.Put(ctx, key, string(value))
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", key, err)
		}
		return resp.Header.Revision, nil
	}
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	if !resp.Succeeded {
		now := int64(0)
		if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
			now = rr.Kvs[0].ModRevision
		}
		return 0, &ConflictError{Key: key, Expected: rev, Current: now}
	}
	return resp.Header.Revision, nil
}

// Encode returns the JSON array stored for list ([] for none).
func Encode(list []entry.Entry) ([]byte, error) {
	if list == nil {
		list = []entry.Entry{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encode entries: %w", err)
	}
	return b, nil
}

// Validate checks list as the agent checks an etcd value, naming the first bad entry and
// field in a *FieldError.
func Validate(list []entry.Entry, allowed []string) error {
	seen := make(map[string]bool, len(list))
	for i, e := range list {
		if err := e.Validate(allowed); err != nil {
			return fieldError(i, err)
		}
		if seen[e.Path] {
			return &FieldError{Field: fmt.Sprintf("entries[%d].path", i), Msg: fmt.Sprintf("%s is listed twice", e.Path)}
		}
		seen[e.Path] = true
	}
	// The bytes written must pass the agent's own parser, whatever changed above.
	value, err := Encode(list)
	if err != nil {
		return err
	}
	if _, err := entry.ParseList(value, allowed); err != nil {
		return &FieldError{Field: "entries", Msg: err.Error()}
	}
	return nil
}

// entryErr matches entry.Validate's `entry "P": key: message` and `key: message`.
var entryErr = regexp.MustCompile(`^(?:entry "(?:[^"\\]|\\.)*": )?([a-z_.]+)(?: "[^"]*")?: (.*)$`)

func fieldError(i int, err error) *FieldError {
	if m := entryErr.FindStringSubmatch(err.Error()); m != nil {
		return &FieldError{Field: fmt.Sprintf("entries[%d].%s", i, m[1]), Msg: m[2]}
	}
	return &FieldError{Field: fmt.Sprintf("entries[%d]", i), Msg: err.Error()}
}

// Set validates entries and writes them if the key is still at rev; it returns the new
// revision. Nothing is written when it fails.
func Set(ctx context.Context, cli *clientv3.Client, key string, entries []entry.Entry, rev int64, allowed []string) (int64, error) {
	if err := Validate(entries, allowed); err != nil {
		return 0, err
	}
	value, err := Encode(entries)
	if err != nil {
		return 0, err
	}
	return Write(ctx, cli, key, value, rev, false)
}

// ErrStoredInvalid: the key's stored value does not parse or validate (agents reject it),
// so it cannot be changed entry by entry; nothing was written.
var ErrStoredInvalid = errors.New("the stored value is invalid")

// maxAttempts bounds Modify's read-change-write loop under contention.
const maxAttempts = 5

// Change computes a key's new entries from its current ones (a copy: change it freely).
// write false leaves the key as it is.
type Change func(cur []entry.Entry) (next []entry.Entry, write bool, err error)

// Modify is the read, change, compare-and-swap loop of every edit of a collect key: it
// reads the key, applies change, validates the result exactly as agents do, and writes it
// only if the key is still at the revision read. When another writer came in between, it
// reads again and retries, up to five times; with pinned >= 0 the key must be at revision
// pinned and a conflict is returned at once (the caller asked for that revision). timeout
// bounds each etcd request (0: ctx alone). It returns the revision written, 0 when change
// wrote nothing; errors are change's own, a *ConflictError, ErrStoredInvalid, a
// *FieldError, or etcd's (wrapped with the key).
func Modify(ctx context.Context, cli *clientv3.Client, key string, allowed []string, pinned int64,
	timeout time.Duration, change Change) (int64, error) {
	bound := func() (context.Context, context.CancelFunc) {
		if timeout <= 0 {
			return context.WithCancel(ctx)
		}
		return context.WithTimeout(ctx, timeout)
	}
	for attempt := 1; ; attempt++ {
		rctx, cancel := bound()
		cur, err := Read(rctx, cli, key, allowed)
		cancel()
		if err != nil {
			return 0, err
		}
		if cur.Err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrStoredInvalid, key, cur.Err)
		}
		if pinned >= 0 && cur.Revision != pinned {
			return 0, &ConflictError{Key: key, Expected: pinned, Current: cur.Revision}
		}
		next, write, err := change(slices.Clone(cur.Entries))
		if err != nil || !write {
			return 0, err
		}
		wctx, cancel := bound()
		written, err := Set(wctx, cli, key, next, cur.Revision, allowed)
		cancel()
		if err == nil || !errors.Is(err, ErrConflict) || pinned >= 0 || attempt == maxAttempts {
			return written, err
		}
	}
}
