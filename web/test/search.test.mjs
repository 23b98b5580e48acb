// The search page's model (search/model.js): the calls it makes, what it keeps of the
// answers, and that a newer search cancels the one before. The API is a fake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SearchModel, facetGroups, fieldRows, filterable, withFilter } from '../static/js/search/model.js';
import { totalText } from '../static/js/search/histogrampanel.js';
import { parseSearchState } from '../static/js/urlstate.js';

const NOW = Date.parse('2026-12-01T09:00:00Z');

// fakeAPI answers each call with the next of answers for its path; a call whose answer is
// 'hang' waits until its signal aborts. calls records [path, params].
function fakeAPI(answers) {
  const calls = [];
  const get = (path, params, signal) => {
    calls.push([path, params]);
    const a = answers[path].shift();
    if (a === 'hang') {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  };
  return { get, calls };
}

function modelFor(url, answers) {
  const api = fakeAPI(answers);
  const model = new SearchModel({ get: api.get });
  model.state = parseSearchState(new URLSearchParams(url));
  return { model, calls: api.calls };
}

const hits = (from, n) => Array.from({ length: n }, (_, i) => ({ message: `line ${from + i}` }));

test('search asks for the first page of the query with its filters and keeps the answer', async () => {
  const { model, calls } = modelFor('q=error&from=now-1h&f=host:web1', {
    '/api/search': [{ hits: hits(0, 2), cursor: 'c1', total: 500, total_estimated: true, took_ms: 7, buckets: [{ time: 'x', count: 2 }], step_ms: 60_000 }],
  });
  await model.search(NOW);
  assert.deepEqual(calls, [['/api/search', { q: 'error host:"web1"', from: NOW - 3_600_000, to: NOW, limit: 200 }]]);
  assert.deepEqual(model.range, { fromMs: NOW - 3_600_000, toMs: NOW });
  assert.equal(model.hits.length, 2);
  assert.equal(model.cursor, 'c1');
  assert.deepEqual(model.answer, { total: 500, estimated: true, tookMs: 7, buckets: [{ time: 'x', count: 2 }], stepMs: 60_000 });
});

test('a range that cannot be resolved is an error for from, and nothing is asked', async () => {
  const { model, calls } = modelFor('from=yesterday', { '/api/search': [] });
  await assert.rejects(model.search(NOW), (e) => e.status === 400 && e.param === 'from');
  assert.equal(calls.length, 0);
});

test('a newer search cancels the one before', async () => {
  const { model } = modelFor('q=a', { '/api/search': ['hang', { hits: hits(0, 1) }] });
  const first = model.search(NOW);
  const second = model.search(NOW);
  await assert.rejects(first, { name: 'AbortError' });
  await second;
  assert.equal(model.hits.length, 1);
});

test('loadMore appends the next page through the cursor, one page at a time', async () => {
  const { model, calls } = modelFor('q=a', {
    '/api/search': [{ hits: hits(0, 200), cursor: 'c1' }, { hits: hits(200, 50), cursor: '' }],
  });
  await model.search(NOW);
  assert.ok(model.hasMore());
  const more = model.loadMore();
  assert.ok(!model.hasMore(), 'no second request while one is on its way');
  await more;
  assert.equal(calls[1][1].cursor, 'c1');
  assert.equal(model.hits.length, 250);
  assert.equal(model.hits[249].message, 'line 249');
  assert.ok(!model.hasMore(), 'the last page has no cursor');
});

test('loadFields keeps the facets of the current search; a newer search cancels it; a failure is "unavailable"', async () => {
  const levels = { fields: [{ name: 'level', values: [{ value: 'INFO', count: 1 }] }] };
  const { model, calls } = modelFor('q=a', {
    '/api/search': [{ hits: [] }, { hits: [] }, { hits: [] }],
    '/api/fields': [levels, 'hang', new Error('boom')],
  });
  await model.search(NOW);
  await model.loadFields();
  assert.deepEqual(model.fields, levels);
  assert.deepEqual(calls[1], ['/api/fields', { q: 'a', from: NOW - 900_000, to: NOW, limit: 10 }]);
  await model.search(NOW);
  const cancelled = model.loadFields();
  const newer = model.search(NOW);
  await assert.rejects(cancelled, { name: 'AbortError' });
  assert.deepEqual(model.fields, levels, 'a cancelled answer changes nothing');
  await newer;
  await model.loadFields();
  assert.equal(model.fields, null);
});

test('step moves the selection within the hits', () => {
  const { model } = modelFor('', {});
  assert.equal(model.step(1), -1, 'no hits, nothing to select');
  model.hits = hits(0, 3);
  assert.equal(model.step(1), 0);
  assert.equal(model.step(-1), 0);
  assert.equal(model.select(2), -1);
  assert.equal(model.step(1), 2);
  assert.equal(model.step(-1), 1);
  assert.equal(model.select(-1), 2);
});

test('withFilter adds a filter or replaces the one on the same value', () => {
  const f = [{ field: 'host', value: 'a', exclude: false }, { field: 'topic', value: 't', exclude: false }];
  assert.deepEqual(withFilter(f, 'host', 'a', true), [f[1], { field: 'host', value: 'a', exclude: true }]);
  assert.deepEqual(withFilter([], 'path', '/x', false), [{ field: 'path', value: '/x', exclude: false }]);
});

test('facet groups: host, path and topic first, empty groups left out', () => {
  const groups = facetGroups({ fields: [
    { name: 'level', values: [{ value: 'INFO', count: 3 }] },
    { name: 'topic', values: [{ value: 't', count: 3 }] },
    { name: 'empty', values: [] },
    { name: 'host', values: [{ value: 'h', count: 3 }] },
  ] });
  assert.deepEqual(groups.map((g) => g.name), ['host', 'topic', 'level']);
  assert.deepEqual(facetGroups(null), []);
});

test('a hit as field rows; time and position are not filterable', () => {
  const rows = fieldRows({ time: 't', host: 'h', path: '/p', topic: 'x', offset: 12, file_id: 'f', fields: { level: 'INFO', n: 3 } });
  assert.deepEqual(rows.map(([k]) => k), ['time', 'host', 'path', 'topic', 'offset', 'file_id', 'level', 'n']);
  assert.deepEqual(rows[4], ['offset', '12']);
  assert.deepEqual(rows[7], ['n', '3']);
  assert.deepEqual(rows.map(([k]) => k).filter(filterable), ['host', 'path', 'topic', 'level', 'n']);
});

test('a hit read later than its event time shows both times, neither filterable', () => {
  const rows = fieldRows({ time: '2026-12-01T08:00:03Z', read_time: '2026-12-02T21:40:34.003Z', host: 'h', path: '/p',
    topic: 'x', offset: 0, file_id: 'f', fields: {} });
  assert.deepEqual(rows.slice(0, 2), [['time', '2026-12-01T08:00:03Z'], ['read_time', '2026-12-02T21:40:34.003Z']]);
  assert.equal(filterable('read_time'), false);
});

test('the header shows an estimated total with ≈, a counted one without', async () => {
  const { model } = modelFor('q=error&from=now-1h', {
    '/api/search': [
      { hits: hits(0, 100), cursor: 'c1', total: 12345, total_estimated: true, took_ms: 7, buckets: [], step_ms: 60_000 },
      { hits: hits(0, 1), cursor: '', total: 1, total_estimated: false, took_ms: 7, buckets: [], step_ms: 60_000 },
    ],
  });
  await model.search(NOW);
  assert.equal(totalText(model.answer), '≈ 12,345');
  await model.search(NOW);
  assert.equal(totalText(model.answer), '1');
});
