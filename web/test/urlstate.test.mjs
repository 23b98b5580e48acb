import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildQuery, errorPosition, filterToQuery, hostsStateToParams, parseFilter, parseHostsState, parseSearchState,
  searchStateToParams, toggleFilter,
} from '../static/js/urlstate.js';

test('search state round-trips through the URL', () => {
  const state = {
    q: 'error "connection refused"', from: '2026-12-01T08:00:00Z', to: '2026-12-01T09:00:00Z',
    filters: [{ field: 'host', value: 'web1', exclude: false }, { field: 'path', value: '/var/log/a b.log', exclude: true }],
  };
  const url = `/search?${searchStateToParams(state)}`;
  const back = parseSearchState(new URL(url, 'http://x').searchParams);
  assert.deepEqual(back, state);
});

test('defaults are left out of the URL', () => {
  assert.equal(searchStateToParams({ q: '', from: 'now-15m', to: 'now', filters: [] }).toString(), '');
  assert.deepEqual(parseSearchState(new URLSearchParams('')), { q: '', from: 'now-15m', to: 'now', filters: [] });
  assert.equal(hostsStateToParams(parseHostsState(new URLSearchParams(''))).toString(), '');
  assert.equal(hostsStateToParams({ host: 'h1', from: 'now-6h', to: 'now', refresh: 'off' }).toString(), 'host=h1&from=now-6h&refresh=off');
});

test('parseFilter', () => {
  assert.deepEqual(parseFilter('host:web1'), { field: 'host', value: 'web1', exclude: false });
  assert.deepEqual(parseFilter('-path:/a:b'), { field: 'path', value: '/a:b', exclude: true });
  assert.deepEqual(parseFilter('topic:'), { field: 'topic', value: '', exclude: false });
  assert.equal(parseFilter('novalue'), null);
  assert.equal(parseFilter(':x'), null);
});

test('filters become quoted clauses', () => {
  assert.equal(filterToQuery({ field: 'host', value: 'web1', exclude: false }), 'host:"web1"');
  assert.equal(filterToQuery({ field: 'path', value: 'C:\\a "b"', exclude: true }), 'NOT path:"C:\\\\a \\"b\\""');
});

test('buildQuery puts the typed query first and groups an OR', () => {
  const f = [{ field: 'host', value: 'web1', exclude: false }];
  assert.equal(buildQuery('', []), '');
  assert.equal(buildQuery('  error  ', []), 'error');
  assert.equal(buildQuery('error', f), 'error host:"web1"');
  assert.equal(buildQuery('error OR warn', f), '(error OR warn) host:"web1"');
  assert.equal(buildQuery('error OR warn', []), 'error OR warn');
  assert.equal(buildQuery('', f), 'host:"web1"');
});

test('errorPosition points into the typed query', () => {
  assert.equal(errorPosition('q: position 6: unbalanced quote', 'error "x'), 6);
  const f = [{ field: 'host', value: 'h', exclude: false }];
  // With an OR and filters the query was sent as "(...)": one character later.
  assert.equal(errorPosition('q: position 7: unbalanced quote', 'a OR "x', f), 6);
  // The server counts bytes; the input counts UTF-16 units.
  assert.equal(errorPosition('q: position 6: unbalanced quote', 'é ü "x'), 4);
  assert.equal(errorPosition('q: unexpected end', 'x'), -1);
  assert.equal(errorPosition('q: position 99: x', 'short'), -1);
  // An error in a filter clause (after the typed query) is not placed in the box.
  assert.equal(errorPosition('q: position 12: x', 'ab', f), -1);
});

test('toggleFilter: click filters, again removes, shift inverts', () => {
  let fs = toggleFilter([], 'host', 'a', false);
  assert.deepEqual(fs, [{ field: 'host', value: 'a', exclude: false }]);
  fs = toggleFilter(fs, 'host', 'a', true);
  assert.deepEqual(fs, [{ field: 'host', value: 'a', exclude: true }]);
  fs = toggleFilter(fs, 'topic', 't', false);
  assert.equal(fs.length, 2);
  fs = toggleFilter(fs, 'host', 'a', true);
  assert.deepEqual(fs, [{ field: 'topic', value: 't', exclude: false }]);
});
