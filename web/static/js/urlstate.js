// The state of each page lives in its URL, so a link can be shared and the back button
// works. These functions convert between URLSearchParams and plain state objects; they
// leave out what equals the default, so URLs stay short.

import { DEFAULT_FROM, DEFAULT_TO } from './timerange.js';

// Facet fields offered as filters; other parsed fields can be filtered too.
export const FACET_FIELDS = ['host', 'path', 'topic'];

// A filter is {field, value, exclude}. In the URL: f=host:web1 or f=-host:web1 (exclude).
export function parseFilter(s) {
  let exclude = false;
  let v = s;
  if (v.startsWith('-')) {
    exclude = true;
    v = v.slice(1);
  }
  const i = v.indexOf(':');
  if (i <= 0) return null;
  return { field: v.slice(0, i), value: v.slice(i + 1), exclude };
}

export function formatFilter(f) {
  return `${f.exclude ? '-' : ''}${f.field}:${f.value}`;
}

// parseSearchState reads the search page's state: q, from, to and filters.
export function parseSearchState(params) {
  const filters = params.getAll('f').map(parseFilter).filter(Boolean);
  return {
    q: params.get('q') ?? '',
    from: params.get('from') || DEFAULT_FROM,
    to: params.get('to') || DEFAULT_TO,
    filters,
  };
}

export function searchStateToParams(state) {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.from && state.from !== DEFAULT_FROM) p.set('from', state.from);
  if (state.to && state.to !== DEFAULT_TO) p.set('to', state.to);
  for (const f of state.filters ?? []) p.append('f', formatFilter(f));
  return p;
}

// quoteValue writes a filter value as a quoted phrase of the search syntax, so that values
// with spaces, colons or slashes (paths) stay one term.
export function quoteValue(v) {
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

// filterToQuery is one filter as a clause of the search syntax (docs/search.md).
export function filterToQuery(f) {
  const term = `${f.field}:${quoteValue(f.value)}`;
  return f.exclude ? `NOT ${term}` : term;
}

// buildQuery joins the typed query and the filters: every clause must match. The typed query
// comes first, so that a syntax error's position points into what the user typed; it is
// parenthesised when it has an OR and there are filters, so the filters apply to all of it.
export function buildQuery(q, filters = []) {
  const typed = (q ?? '').trim();
  const parts = filters.map(filterToQuery);
  if (typed) parts.unshift(typedOffset(typed, filters) ? `(${typed})` : typed);
  return parts.join(' ');
}

// typedOffset is where the typed query starts in buildQuery's result: 0, or 1 after "(".
export function typedOffset(q, filters = []) {
  const typed = (q ?? '').trim();
  return /\bOR\b/.test(typed) && filters.length ? 1 : 0;
}

// errorPosition reads the position of a query error ("q: position 7: unbalanced quote": a
// 0-based byte offset in the query the server got, which is buildQuery's result) and
// returns the index in the typed query (UTF-16 units, as JavaScript indexes strings), or -1
// when the message has none or it points outside what the user typed.
export function errorPosition(message, q, filters = []) {
  const m = /\bposition (\d+)\b/.exec(message ?? '');
  if (!m) return -1;
  const sent = buildQuery(q, filters);
  const bytes = new TextEncoder().encode(sent);
  const at = Number(m[1]);
  if (at > bytes.length) return -1;
  const i = new TextDecoder().decode(bytes.slice(0, at)).length - typedOffset(q, filters);
  const typed = (q ?? '').trim();
  return i >= 0 && i <= typed.length ? i : -1;
}

// toggleFilter applies a facet click: a click filters to the value, a shift-click excludes
// it; clicking a value that is already filtered the same way removes the filter, and the
// other way inverts it.
export function toggleFilter(filters, field, value, exclude) {
  const i = filters.findIndex((f) => f.field === field && f.value === value);
  if (i < 0) return [...filters, { field, value, exclude }];
  if (filters[i].exclude === exclude) return filters.filter((_, j) => j !== i);
  return filters.map((f, j) => (j === i ? { ...f, exclude } : f));
}

// The hosts page: which host, range, auto-refresh interval ("off" or a duration).
export const DEFAULT_REFRESH = '30s';

export function parseHostsState(params) {
  return {
    host: params.get('host') ?? '',
    from: params.get('from') || 'now-1h',
    to: params.get('to') || DEFAULT_TO,
    refresh: params.get('refresh') || DEFAULT_REFRESH,
  };
}

export function hostsStateToParams(state) {
  const p = new URLSearchParams();
  if (state.host) p.set('host', state.host);
  if (state.from && state.from !== 'now-1h') p.set('from', state.from);
  if (state.to && state.to !== DEFAULT_TO) p.set('to', state.to);
  if (state.refresh && state.refresh !== DEFAULT_REFRESH) p.set('refresh', state.refresh);
  return p;
}
