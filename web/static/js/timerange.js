// Time ranges as the UI keeps them: `from`/`to` strings in the URL that are either relative
// to now ("now", "now-15m") or absolute (RFC 3339 or Unix milliseconds), as the API accepts
// them. Pages resolve them to milliseconds once per query, so the histogram, the hits and
// the axis all refer to the same instant even while the clock moves.

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

// The presets of the time picker, shortest first.
export const PRESETS = [
  { from: 'now-5m', label: 'Last 5 minutes' },
  { from: 'now-15m', label: 'Last 15 minutes' },
  { from: 'now-1h', label: 'Last 1 hour' },
  { from: 'now-3h', label: 'Last 3 hours' },
  { from: 'now-6h', label: 'Last 6 hours' },
  { from: 'now-12h', label: 'Last 12 hours' },
  { from: 'now-24h', label: 'Last 24 hours' },
  { from: 'now-2d', label: 'Last 2 days' },
  { from: 'now-7d', label: 'Last 7 days' },
];

export const DEFAULT_FROM = 'now-15m';
export const DEFAULT_TO = 'now';

// parseDuration turns "15m", "1h30m", "500ms" or "7d" into milliseconds; NaN when it is not one.
export function parseDuration(s) {
  if (typeof s !== 'string' || s === '') return NaN;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return NaN;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

// formatDuration writes milliseconds the short way: 900000 → "15m", 5400000 → "1h30m".
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [unit, size] of [['d', UNIT_MS.d], ['h', UNIT_MS.h], ['m', UNIT_MS.m], ['s', UNIT_MS.s]]) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

export function isRelative(s) {
  return typeof s === 'string' && /^now([+-].+)?$/.test(s.trim());
}

// parseTime resolves one end of a range to Unix milliseconds. It throws an Error naming the
// value when the value is none of the accepted forms.
export function parseTime(s, nowMs) {
  const v = String(s ?? '').trim();
  if (v === 'now') return nowMs;
  const rel = /^now([+-])(.+)$/.exec(v);
  if (rel) {
    const d = parseDuration(rel[2]);
    if (Number.isNaN(d)) throw new Error(`bad time "${v}": expected now-15m, now-2h, now-7d…`);
    return rel[1] === '-' ? nowMs - d : nowMs + d;
  }
  if (/^\d{10,}$/.test(v)) return Number(v);
  // RFC 3339; also what a datetime-local input gives (local time, no zone).
  if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$/.test(v)) {
    const ms = Date.parse(v.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return ms;
  }
  throw new Error(`bad time "${v}": expected now, now-15m, an RFC 3339 time or Unix milliseconds`);
}

// resolveRange turns a {from, to} of strings into milliseconds, checking that from < to.
export function resolveRange(range, nowMs) {
  const toMs = parseTime(range.to || DEFAULT_TO, nowMs);
  const fromMs = parseTime(range.from || DEFAULT_FROM, nowMs);
  if (!(fromMs < toMs)) throw new Error('the start of the time range must be before its end');
  return { fromMs, toMs };
}

// describeRange is what the time picker's button says.
export function describeRange(range) {
  const from = range.from || DEFAULT_FROM;
  const to = range.to || DEFAULT_TO;
  if (to === 'now') {
    const preset = PRESETS.find((p) => p.from === from);
    if (preset) return preset.label;
    if (isRelative(from)) return `Last ${from.slice(4)}`;
  }
  const fmt = (v) => (isRelative(v) ? v : formatTime(parseTime(v, Date.now()), false));
  return `${fmt(from)} → ${fmt(to)}`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// formatTime writes a local time as "2026-12-01 08:00:05" (".123" with ms).
export function formatTime(ms, withMs = true) {
  const d = new Date(ms);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

// toLocalInput is the value of a datetime-local input (local time, seconds) for ms.
export function toLocalInput(ms) {
  return formatTime(ms, false).replace(' ', 'T');
}

// toISO is how the UI writes an absolute time into the URL: RFC 3339 UTC, ms when needed.
export function toISO(ms) {
  const s = new Date(ms).toISOString();
  return s.endsWith('.000Z') ? s.replace('.000Z', 'Z') : s;
}

// zoomOut widens a range around its middle (factor 2: twice as long), never past now.
export function zoomOut(fromMs, toMs, nowMs, factor = 2) {
  const span = toMs - fromMs;
  const mid = fromMs + span / 2;
  let to = Math.round(mid + (span * factor) / 2);
  let from = Math.round(mid - (span * factor) / 2);
  if (to > nowMs) {
    from -= to - nowMs;
    to = nowMs;
  }
  return { fromMs: from, toMs: to };
}

// relativeTime says how long ago ms was: "12s ago", "5m ago", "3h ago", "2d ago".
export function relativeTime(ms, nowMs) {
  const d = Math.max(0, nowMs - ms);
  if (d < 5_000) return 'just now';
  if (d < UNIT_MS.m) return `${Math.floor(d / 1000)}s ago`;
  if (d < UNIT_MS.h) return `${Math.floor(d / UNIT_MS.m)}m ago`;
  if (d < UNIT_MS.d) return `${Math.floor(d / UNIT_MS.h)}h ago`;
  return `${Math.floor(d / UNIT_MS.d)}d ago`;
}
