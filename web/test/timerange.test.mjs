import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeRange, formatDuration, isRelative, parseDuration, parseTime, relativeTime, resolveRange, toISO, zoomOut,
} from '../static/js/timerange.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');

test('parseDuration', () => {
  const cases = { '15m': 900_000, '1h30m': 5_400_000, '7d': 604_800_000, '500ms': 500, '2w': 1_209_600_000, '1.5h': 5_400_000 };
  for (const [s, ms] of Object.entries(cases)) assert.equal(parseDuration(s), ms, s);
  for (const bad of ['', '15', 'm', '1y', '1h x', '-5m']) assert.ok(Number.isNaN(parseDuration(bad)), bad);
});

test('formatDuration is the inverse for round values', () => {
  for (const s of ['15m', '1h30m', '7d', '30s', '1d2h']) assert.equal(formatDuration(parseDuration(s)), s);
});

test('parseTime accepts the API forms', () => {
  assert.equal(parseTime('now', NOW), NOW);
  assert.equal(parseTime('now-15m', NOW), NOW - 900_000);
  assert.equal(parseTime('now-7d', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('now+1h', NOW), NOW + 3_600_000);
  assert.equal(parseTime('1764576000000', NOW), 1764576000000);
  assert.equal(parseTime('2026-12-01T08:00:00Z', NOW), Date.parse('2026-12-01T08:00:00Z'));
  assert.equal(parseTime('2026-12-01T08:00:00.5+01:00', NOW), Date.parse('2026-12-01T07:00:00.500Z'));
});

test('parseTime names a bad value', () => {
  for (const bad of ['yesterday', 'now-', 'now-3x', '2026-13-45', '12345']) {
    assert.throws(() => parseTime(bad, NOW), (e) => e.message.includes(`"${bad}"`), bad);
  }
});

test('resolveRange defaults and order', () => {
  assert.deepEqual(resolveRange({}, NOW), { fromMs: NOW - 900_000, toMs: NOW });
  assert.deepEqual(resolveRange({ from: 'now-1h', to: 'now' }, NOW), { fromMs: NOW - 3_600_000, toMs: NOW });
  assert.throws(() => resolveRange({ from: 'now', to: 'now-1h' }, NOW), /before its end/);
});

test('describeRange names presets and absolute ranges', () => {
  assert.equal(describeRange({ from: 'now-15m', to: 'now' }), 'Last 15 minutes');
  assert.equal(describeRange({ from: 'now-7d', to: 'now' }), 'Last 7 days');
  assert.equal(describeRange({ from: 'now-90m', to: 'now' }), 'Last 90m');
  assert.match(describeRange({ from: '2026-12-01T08:00:00Z', to: '2026-12-01T09:00:00Z' }), /^2026-12-01 \d\d:00:00 → 2026-12-01 \d\d:00:00$/);
});

test('isRelative', () => {
  assert.ok(isRelative('now'));
  assert.ok(isRelative('now-15m'));
  assert.ok(!isRelative('2026-12-01T08:00:00Z'));
  assert.ok(!isRelative('1764576000000'));
});

test('toISO drops zero milliseconds', () => {
  assert.equal(toISO(Date.parse('2026-12-01T08:00:00Z')), '2026-12-01T08:00:00Z');
  assert.equal(toISO(Date.parse('2026-12-01T08:00:00.250Z')), '2026-12-01T08:00:00.250Z');
});

test('zoomOut doubles around the middle and stops at now', () => {
  assert.deepEqual(zoomOut(NOW - 4_000, NOW - 2_000, NOW + 100_000), { fromMs: NOW - 5_000, toMs: NOW - 1_000 });
  // Would end past now: shifted back so it ends at now, same length.
  assert.deepEqual(zoomOut(NOW - 2_000, NOW, NOW), { fromMs: NOW - 4_000, toMs: NOW });
});

test('relativeTime', () => {
  assert.equal(relativeTime(NOW - 1_000, NOW), 'just now');
  assert.equal(relativeTime(NOW - 12_000, NOW), '12s ago');
  assert.equal(relativeTime(NOW - 5 * 60_000, NOW), '5m ago');
  assert.equal(relativeTime(NOW - 3 * 3_600_000, NOW), '3h ago');
  assert.equal(relativeTime(NOW - 2 * 86_400_000, NOW), '2d ago');
});
