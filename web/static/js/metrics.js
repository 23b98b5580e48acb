// What the hosts page charts, and how /api/metrics answers become chart data. Measurement
// and field names are those of the host-metrics collector (CONTRACTS A).

// Each chart: a title, the unit of its axis, and the (measurement, field) series it shows.
// `keep` picks the series to draw from an answer (by tags); `name` labels one.
export const CHARTS = [
  { id: 'cpu', title: 'CPU', unit: 'percent', max: 100, series: [
    { measurement: 'cpu', field: 'usage_percent', label: 'usage' },
    { measurement: 'cpu', field: 'user_percent', label: 'user' },
    { measurement: 'cpu', field: 'system_percent', label: 'system' },
    { measurement: 'cpu', field: 'iowait_percent', label: 'iowait' },
  ], keep: (tags) => !tags.cpu || tags.cpu === 'total' },
  { id: 'load', title: 'Load', unit: '', series: [
    { measurement: 'load', field: 'load1', label: '1 min' },
    { measurement: 'load', field: 'load5', label: '5 min' },
    { measurement: 'load', field: 'load15', label: '15 min' },
  ] },
  { id: 'mem', title: 'Memory', unit: 'bytes', series: [
    { measurement: 'mem', field: 'used', label: 'used' },
    { measurement: 'mem', field: 'available', label: 'available' },
    { measurement: 'mem', field: 'swap_used', label: 'swap used' },
  ] },
  { id: 'disk', title: 'Disk used', unit: 'percent', max: 100, series: [
    { measurement: 'disk', field: 'used_percent', label: '', by: 'path' },
  ] },
  { id: 'diskio', title: 'Disk IO', unit: 'bytes/s', series: [
    { measurement: 'diskio', field: 'read_bytes_per_sec', label: 'read', by: 'device' },
    { measurement: 'diskio', field: 'write_bytes_per_sec', label: 'write', by: 'device' },
  ] },
  { id: 'net', title: 'Network', unit: 'bytes/s', series: [
    { measurement: 'net', field: 'bytes_recv_per_sec', label: 'in', by: 'interface' },
    { measurement: 'net', field: 'bytes_sent_per_sec', label: 'out', by: 'interface' },
  ], keep: (tags) => tags.interface !== 'lo' },
];

// seriesName labels one answered series: "read sda", "/var", "usage".
export function seriesName(spec, tags) {
  const by = spec.by ? tags?.[spec.by] ?? '' : '';
  return [spec.label, by].filter(Boolean).join(' ') || spec.field;
}

// align merges series of [unix_ms, value] points into uPlot's columns: one x column in
// seconds (the union of all times, ascending) and one y column per series, null where a
// series has no point (a gap is drawn as a gap, not as a line through it).
export function align(seriesPoints) {
  const times = new Set();
  for (const pts of seriesPoints) for (const [t] of pts) times.add(t);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = seriesPoints.map((pts) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of pts) col[index.get(t)] = Number.isFinite(v) ? v : null;
    return col;
  });
  return [xs.map((t) => t / 1000), ...ys];
}

// collect turns the answers for one chart ({spec, answer} pairs) into labels and columns.
export function chartData(chart, answers) {
  const labels = [];
  const points = [];
  for (const { spec, answer } of answers) {
    for (const s of answer?.series ?? []) {
      const tags = s.tags ?? {};
      if (chart.keep && !chart.keep(tags)) continue;
      if (!s.points?.length) continue;
      labels.push(seriesName(spec, tags));
      points.push(s.points);
    }
  }
  return { labels, data: align(points) };
}

// lastIndexes is, per column of align's output, the index of its newest value (null when
// it has none); the x column gets the newest of them. The legend shows these values while
// the pointer is off the chart, so a chart says where each series stands now.
export function lastIndexes(data) {
  const ys = data.slice(1).map((col) => {
    for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null) return i;
    return null;
  });
  const known = ys.filter((i) => i !== null);
  return [known.length ? Math.max(...known) : null, ...ys];
}
