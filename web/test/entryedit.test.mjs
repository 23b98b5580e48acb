import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOp, entryToForm, errorField, formToEntry, summary } from '../static/js/entryedit.js';

const a = { path: '/var/log/a.log', topic: 'a' };
const b = { path: '/var/log/b.log', topic: 'b' };

test('add appends, or replaces the entry with the same path', () => {
  assert.deepEqual(applyOp([a], { kind: 'add', entry: b }), { entries: [a, b], index: 1 });
  const a2 = { ...a, topic: 'a2' };
  assert.deepEqual(applyOp([a, b], { kind: 'add', entry: a2 }), { entries: [a2, b], index: 0 });
});

test('edit replaces by the original path; re-applied after a conflict it finds it again', () => {
  const b2 = { ...b, topic: 'b2' };
  assert.deepEqual(applyOp([a, b], { kind: 'edit', path: b.path, entry: b2 }), { entries: [a, b2], index: 1 });
  // Someone else inserted an entry before it: the edit still lands on b.
  const c = { path: '/c', topic: 'c' };
  assert.deepEqual(applyOp([c, a, b], { kind: 'edit', path: b.path, entry: b2 }), { entries: [c, a, b2], index: 2 });
  // Someone else removed it: the edit adds it back.
  assert.deepEqual(applyOp([a], { kind: 'edit', path: b.path, entry: b2 }), { entries: [a, b2], index: 1 });
});

test('an edit that renames onto another path keeps one entry for it', () => {
  const moved = { path: a.path, topic: 'moved' };
  assert.deepEqual(applyOp([a, b], { kind: 'edit', path: b.path, entry: moved }), { entries: [moved], index: 0 });
});

test('remove and replace', () => {
  assert.deepEqual(applyOp([a, b], { kind: 'remove', path: a.path }), { entries: [b], index: -1 });
  assert.deepEqual(applyOp([a], { kind: 'replace', entries: [b] }), { entries: [b], index: -1 });
  assert.throws(() => applyOp([], { kind: 'nope' }), /unknown edit/);
});

test('the input is never modified', () => {
  const list = [a, b];
  applyOp(list, { kind: 'remove', path: a.path });
  applyOp(list, { kind: 'add', entry: { path: '/x', topic: 'x' } });
  assert.deepEqual(list, [a, b]);
});

test('form ↔ entry: only what was filled in is written', () => {
  assert.deepEqual(formToEntry({ path: ' /var/log/x.log ', topic: 'x', start: '', exclude: '', fields: '' }), { path: '/var/log/x.log', topic: 'x' });
  const full = {
    path: '/var/log/app/*.log', topic: 'app', start: 'beginning', exclude: ['*.gz', '*.1'],
    include_lines: ['ERROR'], exclude_lines: ['^DEBUG'], fields: { service: 'checkout', team: 'a=b' },
    max_line_bytes: 4096, keep_empty: true,
    multiline: { pattern: '^\\s', negate: true, match: 'before', max_lines: 50, timeout: '3s' },
  };
  assert.deepEqual(formToEntry(entryToForm(full)), full);
  assert.deepEqual(formToEntry(entryToForm(a)), a);
});

test('errorField maps a server param to the field of the edited entry', () => {
  assert.equal(errorField('entries[1].topic', 1), 'topic');
  assert.equal(errorField('entries[1].topic', 0), null);
  assert.equal(errorField('entries[2].multiline.pattern', 2), 'multiline.pattern');
  assert.equal(errorField('entries[2].multiline', 2), 'multiline.pattern');
  assert.equal(errorField('entries[0].exclude[3]', 0), 'exclude');
  assert.equal(errorField('entries[0].fields.service', 0), 'fields');
  assert.equal(errorField('entries[0]', 0), 'path');
  assert.equal(errorField('revision', 0), null);
  assert.equal(errorField('', 0), null);
});

test('summary', () => {
  assert.deepEqual(summary(a), []);
  assert.deepEqual(summary({ ...a, start: 'beginning', exclude: ['*.gz'], fields: { s: 'c' } }), ['start beginning', 'exclude *.gz', 's=c']);
});
