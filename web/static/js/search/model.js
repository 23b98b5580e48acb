// The search page's model: what the URL asks for (state), and what the server answered for
// it (range, hits, cursor, answer, fields), plus which hit is selected. The calls to the API
// that fill it are here too, so that a newer query always cancels the one before. Panels
// read the model; only the controller (pages/search.js) changes it. No DOM in this file.

import { ApiError } from '../api.js';
import { resolveRange } from '../timerange.js';
import { FACET_FIELDS, buildQuery } from '../urlstate.js';

export const PAGE_SIZE = 200;
const CONTEXT_LINES = 30;
const FACET_VALUES = 10;

export class SearchModel {
  state = null; // {q, from, to, filters}: the page's URL (urlstate.js)
  range = null; // {fromMs, toMs} the current hits were asked for
  hits = []; // newest first; pages from the cursor are appended
  cursor = ''; // the next page's cursor, '' when there is none
  answer = null; // the first page's {total, estimated, tookMs, buckets, stepMs}
  fields = null; // /api/fields' answer for the facets, null when it failed
  selected = -1; // the hit shown in the line panel

  #get;
  #abort = null;
  #loadingMore = false;

  // get(path, params, signal) calls the API (api.js's apiGet; a fake in tests).
  constructor({ get }) {
    this.#get = get;
  }

  // search runs the state's query afresh (cancelling the one before) and takes its first
  // page. A range that cannot be resolved is an ApiError for `from`; a cancelled search
  // rejects with an AbortError.
  async search(now) {
    this.abort();
    this.#abort = new AbortController();
    const signal = this.#abort.signal;
    try {
      this.range = resolveRange(this.state, now);
    } catch (e) {
      throw new ApiError(400, e.message, 'from');
    }
    const res = await this.#get('/api/search', { ...this.#params(), limit: PAGE_SIZE }, signal);
    this.hits = res.hits ?? [];
    this.cursor = res.cursor ?? '';
    this.selected = -1;
    this.answer = {
      total: res.total ?? this.hits.length, estimated: Boolean(res.total_estimated), tookMs: res.took_ms ?? 0,
      buckets: res.buckets ?? [], stepMs: res.step_ms ?? 0,
    };
  }

  // loadFields asks for the facet counts of the current search; a failure leaves fields
  // null ("unavailable"), a newer search rejects it with an AbortError.
  async loadFields() {
    const signal = this.#abort.signal;
    let fields = null;
    try {
      fields = await this.#get('/api/fields', { ...this.#params(), limit: FACET_VALUES }, signal);
    } catch {
      // shown as unavailable
    }
    signal.throwIfAborted();
    this.fields = fields;
  }

  // hasMore says whether a next page exists and is not already on its way.
  hasMore() {
    return Boolean(this.cursor && this.state && !this.#loadingMore);
  }

  // loadMore appends the next page (call it when hasMore()).
  async loadMore() {
    this.#loadingMore = true;
    try {
      const res = await this.#get('/api/search', { ...this.#params(), limit: PAGE_SIZE, cursor: this.cursor }, this.#abort?.signal);
      this.cursor = res.cursor ?? '';
      this.hits.push(...(res.hits ?? []));
    } finally {
      this.#loadingMore = false;
    }
  }

  // fail forgets the hits after an error: nothing is listed, nothing more is loaded.
  fail() {
    this.hits = [];
    this.cursor = '';
    this.answer = null;
    this.selected = -1;
  }

  // context is the lines around hit in its file: {hits, anchor}.
  context(hit) {
    return this.#get('/api/context', { host: hit.host, file_id: hit.file_id, offset: hit.offset, before: CONTEXT_LINES, after: CONTEXT_LINES });
  }

  // select makes hit i the selected one (-1: none) and returns the one selected before.
  select(i) {
    const prev = this.selected;
    this.selected = i;
    return prev;
  }

  // step is the hit d rows from the selected one, kept in the list; -1 when there are none.
  step(d) {
    if (!this.hits.length) return -1;
    return Math.max(0, Math.min(this.hits.length - 1, (this.selected < 0 ? -1 : this.selected) + d));
  }

  abort() {
    this.#abort?.abort();
  }

  #params() {
    return { q: buildQuery(this.state.q, this.state.filters), from: this.range.fromMs, to: this.range.toMs };
  }
}

// withFilter is filters with field=value filtered in (or out, exclude), replacing a filter
// on the same value.
export function withFilter(filters, field, value, exclude) {
  return [...filters.filter((f) => !(f.field === field && f.value === value)), { field, value, exclude }];
}

// facetGroups is the fields answer's groups that have values, host, path and topic first.
export function facetGroups(fields) {
  const rank = (name) => {
    const i = FACET_FIELDS.indexOf(name);
    return i < 0 ? FACET_FIELDS.length : i;
  };
  return (fields?.fields ?? []).filter((g) => g.values?.length).sort((a, b) => rank(a.name) - rank(b.name));
}

// fieldRows is a hit as [name, text] rows: its own fields, then the parsed ones. time is
// the line's event time (what lists, ranges and the histogram use), read_time when the
// agent read it.
export function fieldRows(hit) {
  const rows = [['time', hit.time]];
  if (hit.read_time) rows.push(['read_time', hit.read_time]);
  rows.push(['host', hit.host], ['path', hit.path], ['topic', hit.topic],
    ['offset', String(hit.offset)], ['file_id', hit.file_id]);
  for (const [k, v] of Object.entries(hit.fields ?? {})) rows.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
  return rows;
}

// filterable says whether a search can filter by the field (not by a time or a position).
export function filterable(name) {
  return name !== 'time' && name !== 'read_time' && name !== 'offset' && name !== 'file_id';
}
