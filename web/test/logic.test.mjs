// The pure parts of the histogram, the virtual list, the charts and the highlighting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisTicks, niceMax, selectionRange } from '../static/js/histogram.js';
import { nearEnd, visibleRange } from '../static/js/virtuallist.js';
import { CHARTS, align, chartData, lastIndexes, seriesName } from '../static/js/metrics.js';
import { formatBytes, segments } from '../static/js/format.js';
import { keepNewest } from '../static/js/pages/tail.js';
import { fileList, roleOf } from '../static/js/pages/agents.js';

test('a drag becomes a range of whole seconds, either direction', () => {
  const from = Date.parse('2026-12-01T08:00:00Z');
  const to = from + 600_000;
  assert.deepEqual(selectionRange(100, 300, 1000, from, to), { fromMs: from + 60_000, toMs: from + 180_000 });
  assert.deepEqual(selectionRange(300, 100, 1000, from, to), { fromMs: from + 60_000, toMs: from + 180_000 });
  // Clamped to the plot, never empty.
  assert.deepEqual(selectionRange(-50, 2000, 1000, from, to), { fromMs: from, toMs: to });
  const tiny = selectionRange(500, 500.1, 1000, from, to);
  assert.equal(tiny.toMs - tiny.fromMs, 1000);
});

test('niceMax and axis ticks', () => {
  assert.deepEqual([0, 1, 3, 7, 12, 99, 101, 4500].map(niceMax), [1, 1, 5, 10, 20, 100, 200, 5000]);
  const from = Date.parse('2026-12-01T08:00:00Z');
  const { ticks, step } = axisTicks(from, from + 3_600_000);
  assert.equal(step, 600_000);
  assert.equal(ticks.length, 6);
  assert.ok(ticks.every((t) => t % step === 0 && t >= from && t < from + 3_600_000));
});

test('visibleRange renders only what is in view, for 10,000 rows', () => {
  assert.deepEqual(visibleRange(0, 600, 28, 10_000, 10), { start: 0, end: 32 });
  assert.deepEqual(visibleRange(28 * 5000, 600, 28, 10_000, 10), { start: 4990, end: 5032 });
  assert.deepEqual(visibleRange(28 * 9990, 600, 28, 10_000, 10), { start: 9980, end: 10_000 });
  assert.deepEqual(visibleRange(0, 600, 28, 0), { start: 0, end: 0 });
  assert.ok(nearEnd(28 * 170, 600, 28, 200));
  assert.ok(!nearEnd(0, 600, 28, 200));
});

test('align merges series on the union of times, with gaps as null', () => {
  const data = align([[[1000, 1], [3000, 3]], [[2000, 20], [3000, 30]]]);
  assert.deepEqual(data, [[1, 2, 3], [1, null, 3], [null, 20, 30]]);
  assert.deepEqual(align([]), [[]]);
});

test('chartData keeps the total CPU and labels series by tag', () => {
  const cpu = CHARTS.find((c) => c.id === 'cpu');
  const spec = cpu.series[0];
  const answer = { series: [
    { tags: { host: 'h', cpu: 'total' }, points: [[1000, 5]] },
    { tags: { host: 'h', cpu: 'cpu0' }, points: [[1000, 9]] },
  ] };
  assert.deepEqual(chartData(cpu, [{ spec, answer }]), { labels: ['usage'], data: [[1], [5]] });
  const disk = CHARTS.find((c) => c.id === 'disk');
  assert.equal(seriesName(disk.series[0], { path: '/var' }), '/var');
  const net = CHARTS.find((c) => c.id === 'net');
  const nets = chartData(net, [{ spec: net.series[0], answer: { series: [
    { tags: { interface: 'lo' }, points: [[1000, 1]] }, { tags: { interface: 'eth0' }, points: [[1000, 2]] },
  ] } }]);
  assert.deepEqual(nets.labels, ['in eth0']);
  // A failed or empty answer gives no series (the card shows "No data").
  assert.deepEqual(chartData(cpu, [{ spec, answer: null }]).labels, []);
});

test('segments cut a message by highlight ranges in UTF-16 units', () => {
  assert.deepEqual(segments('GET /x 200', [[0, 3], [7, 10]]), [
    { text: 'GET', hit: true }, { text: ' /x ', hit: false }, { text: '200', hit: true }]);
  // Unsorted, overlapping, out of bounds.
  assert.deepEqual(segments('abcdef', [[3, 9], [1, 4], [-2, 0]]), [
    { text: 'a', hit: false }, { text: 'bcdef', hit: true }]);
  // Astral characters count two units, as in JavaScript strings.
  const m = '😀 error';
  assert.deepEqual(segments(m, [[3, 8]]), [{ text: '😀 ', hit: false }, { text: 'error', hit: true }]);
  assert.deepEqual(segments('', []), [{ text: '', hit: false }]);
});

test('formatBytes', () => {
  assert.deepEqual([0, 1023, 1536, 10 * 1024 ** 3, 150 * 1024 ** 2].map(formatBytes), ['0 B', '1023 B', '1.5 KiB', '10 GiB', '150 MiB']);
});

test('the tail keeps only the newest lines', () => {
  const items = Array.from({ length: 12 }, (_, i) => i);
  assert.equal(keepNewest(items, 5), 7);
  assert.deepEqual(items, [7, 8, 9, 10, 11]);
  assert.equal(keepNewest(items, 5), 0);
});

test('agent files in any shape', () => {
  assert.deepEqual(fileList(['/a', { path: '/b', offset: 3 }, { x: 1 }]), ['/a', '/b', '{"x":1}']);
  assert.deepEqual(fileList(undefined), []);
});

test('a registration without a role is an agent when it has collect keys', () => {
  assert.equal(roleOf({ role: 'transfer' }), 'transfer');
  assert.equal(roleOf({ collect_keys: [] }), 'agent');
  assert.equal(roleOf({}), 'unknown');
});

test('lastIndexes: the newest value of each series, for the legend', () => {
  assert.deepEqual(lastIndexes([[1, 2, 3], [1, null, null], [null, 20, 30], [null, null, null]]), [2, 0, 2, null]);
  assert.deepEqual(lastIndexes([[]]), [null]);
});
