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
	"strings"

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
