// The search page (Discover): query box, time range, facet filters, histogram, and the hits
// newest first in a virtual list with infinite scroll; a hit opens in a side panel with its
// fields, a copy button and the lines around it in its file.

import { apiGet, ApiError } from '../api.js';
import { copyText, el, formatNumber, highlighted, toast } from '../format.js';
import { createHistogram } from '../histogram.js';
import { createTimePicker } from '../timepicker.js';
import { describeRange, formatTime, resolveRange, toISO, zoomOut } from '../timerange.js';
import { FACET_FIELDS, buildQuery, errorPosition, parseSearchState, searchStateToParams, toggleFilter } from '../urlstate.js';
import { VirtualList } from '../virtuallist.js';

const PAGE_SIZE = 200;
const ROW_HEIGHT = 28;

export const SYNTAX_HELP = [
  ['timeout error', 'lines with both words'],
  ['"connection refused"', 'an exact phrase'],
  ['host:web1', 'a field: host, path, topic or a parsed field'],
  ['path:*/nginx/*.log', 'a field by glob (field:pre* by prefix)'],
  ['error OR warn', 'either word'],
  ['NOT debug', 'lines without the word (also -debug)'],
  ['data*', 'a word prefix'],
  ['(error OR warn) host:web1', 'grouping'],
];

export function mount(root, { navigate }) {
  let state = null;
  let range = null; // {fromMs, toMs} the current results were asked for
  let cursor = '';
  let loadingMore = false;
  let abort = null;
  let selected = -1;
  let hits = [];

  // --- toolbar
  const qInput = el('input', {
    type: 'search', class: 'input query-input', name: 'q', 'data-search-box': true, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search logs: words, "a phrase", host:web1, NOT, OR, err*   (press / to focus)', 'aria-label': 'Query',
  });
  const qError = el('div', { class: 'query-error', role: 'alert', hidden: true, 'data-testid': 'query-error' });
  const helpPop = el('div', { class: 'popover help-pop', hidden: true, 'data-closable': true },
    el('h4', {}, 'Search syntax'),
    el('table', { class: 'help-table' }, SYNTAX_HELP.map(([ex, what]) => el('tr', {}, el('td', {}, el('code', {}, ex)), el('td', {}, what)))),
    el('p', { class: 'muted' }, 'Click a value on the left to filter by it; shift-click to exclude it.'));
  const closeHelp = (ev) => {
    if (ev?.target && helpPop.parentElement.contains(ev.target)) return;
    helpPop.hidden = true;
    document.removeEventListener('mousedown', closeHelp, true);
  };
  helpPop.addEventListener('close', () => closeHelp());
  const helpBtn = el('button', { type: 'button', class: 'btn btn-icon', title: 'Search syntax', 'aria-label': 'Search syntax',
    onclick: () => {
      if (!helpPop.hidden) return closeHelp();
      helpPop.hidden = false;
      document.addEventListener('mousedown', closeHelp, true);
    } }, '?');
  const picker = createTimePicker({ onChange: (r) => go({ ...state, from: r.from, to: r.to }) });
  const runBtn = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'run' }, 'Search');
  const form = el('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); submit(); } },
    el('div', { class: 'query-wrap' }, qInput, el('div', { class: 'help-wrap' }, helpBtn, helpPop)),
    picker.el, runBtn);
  const pills = el('div', { class: 'pills', 'data-testid': 'filters' });

  // --- facets, histogram, results, detail
  const facets = el('aside', { class: 'facets', 'aria-label': 'Filters', 'data-testid': 'facets' });
  const hist = createHistogram({ onZoom: (fromMs, toMs) => go({ ...state, from: toISO(fromMs), to: toISO(toMs) }) });
  const summary = el('div', { class: 'summary', 'data-testid': 'summary' });
  const zoomOutBtn = el('button', { type: 'button', class: 'btn btn-small', title: 'Zoom out (twice the range)', onclick: () => {
    if (!range) return;
    const r = zoomOut(range.fromMs, range.toMs, Date.now());
    go({ ...state, from: toISO(r.fromMs), to: toISO(r.toMs) });
  } }, '− Zoom out');
  const status = el('div', { class: 'results-status', 'data-testid': 'results-status' });
  const listEl = el('div', { class: 'results-list', role: 'list', tabindex: '0', 'data-testid': 'results' });
  const detail = el('aside', { class: 'panel detail', hidden: true, 'data-closable': true, 'aria-label': 'Line details', 'data-testid': 'detail' });
  detail.addEventListener('close', closeDetail);
  const results = el('section', { class: 'results' },
    el('div', { class: 'hist-card' }, el('div', { class: 'hist-head' }, summary, zoomOutBtn), hist.el),
    status, listEl);
  const body = el('div', { class: 'search-body' }, facets, results, detail);
  root.append(form, qError, pills, body);

  const list = new VirtualList(listEl, {
    rowHeight: ROW_HEIGHT,
    renderRow: renderRow,
    onNearEnd: () => loadMore(),
  });
  listEl.addEventListener('click', (ev) => {
    const row = ev.target.closest('.hit');
    if (row) select(Number(row.dataset.index));
  });
  listEl.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'j') move(1);
    else if (ev.key === 'ArrowUp' || ev.key === 'k') move(-1);
    else if (ev.key === 'Enter' && selected >= 0) showDetail(hits[selected]);
    else return;
    ev.preventDefault();
  });

  function move(d) {
    if (!hits.length) return;
    select(Math.max(0, Math.min(hits.length - 1, (selected < 0 ? -1 : selected) + d)));
    list.scrollToIndex(selected);
  }

  function renderRow(hit, i) {
    const msg = highlighted(el('span', { class: 'msg' }), hit.message, hit.highlight);
    return el('div', { class: `hit${i === selected ? ' selected' : ''}`, role: 'listitem', dataset: { index: String(i) } },
      el('span', { class: 'ts', title: hit.time }, formatTime(Date.parse(hit.time))),
      el('span', { class: 'host', title: hit.host }, hit.host),
      msg);
  }

  function go(next, opts) {
    const params = searchStateToParams(next);
    const before = location.search;
    navigate('/search', params, opts);
    // The same URL again (Enter on the same query): run it anyway, relative times move on.
    if (location.search === before) run();
  }

  function submit() {
    go({ ...state, q: qInput.value.trim() });
  }

  async function run() {
    const t0 = performance.now();
    abort?.abort();
    abort = new AbortController();
    const signal = abort.signal;
    closeDetail();
    qError.hidden = true;
    qInput.classList.remove('invalid');
    try {
      range = resolveRange(state, Date.now());
    } catch (e) {
      showError(new ApiError(400, e.message, 'from'));
      return;
    }
    const q = buildQuery(state.q, state.filters);
    const base = { q, from: range.fromMs, to: range.toMs };
    status.textContent = 'Searching…';
    status.className = 'results-status loading';
    results.classList.add('busy');
    let res;
    try {
      res = await apiGet('/api/search', { ...base, limit: PAGE_SIZE }, signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      results.classList.remove('busy');
      showError(e);
      return;
    }
    results.classList.remove('busy');
    // Facets are asked for once the hits are in: on a small machine a concurrent facet
    // count would slow down the first screen, which matters more.
    const fieldsReq = apiGet('/api/fields', { ...base, limit: 10 }, signal).catch((e) => e);
    hits = res.hits ?? [];
    cursor = res.cursor ?? '';
    selected = -1;
    list.setItems(hits);
    listEl.dataset.count = String(hits.length);
    hist.render(res.buckets, res.step_ms, range.fromMs, range.toMs);
    const total = res.total ?? hits.length;
    summary.replaceChildren(
      el('strong', { 'data-testid': 'total' }, `${res.total_estimated ? '≈ ' : ''}${formatNumber(total)}`),
      ` ${total === 1 ? 'hit' : 'hits'}`,
      el('span', { class: 'muted' }, ` · ${describeRange(state)} · ${res.took_ms ?? 0} ms`));
    setStatus();
    // Painted: tell whoever listens (the UI bench, tests) how long it took.
    requestAnimationFrame(() => document.dispatchEvent(new CustomEvent('lc:results', {
      detail: { ms: performance.now() - t0, tookMs: res.took_ms, total, hits: hits.length },
    })));
    const fields = await fieldsReq;
    if (signal.aborted) return;
    renderFacets(fields instanceof Error ? null : fields);
  }

  function setStatus() {
    status.className = 'results-status';
    if (!hits.length) {
      status.replaceChildren(el('div', { class: 'empty' },
        el('strong', {}, 'No lines match'),
        el('span', {}, ' in this time range. Try a wider range or fewer words.')));
      return;
    }
    status.textContent = '';
  }

  async function loadMore() {
    if (!cursor || loadingMore || !state) return;
    loadingMore = true;
    const signal = abort?.signal;
    status.textContent = 'Loading older lines…';
    status.className = 'results-status loading';
    try {
      const res = await apiGet('/api/search', {
        q: buildQuery(state.q, state.filters), from: range.fromMs, to: range.toMs, limit: PAGE_SIZE, cursor,
      }, signal);
      cursor = res.cursor ?? '';
      hits.push(...(res.hits ?? []));
      listEl.dataset.count = String(hits.length);
      list.update();
      setStatus();
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = `Could not load more: ${e.message}`;
    } finally {
      loadingMore = false;
    }
  }

  function showError(e) {
    facets.replaceChildren(el('p', { class: 'muted facets-empty' }, 'Fields appear here when the query runs.'));
    hits = [];
    cursor = '';
    list.setItems(hits);
    summary.textContent = '';
    hist.render([], 0, range?.fromMs ?? Date.now() - 900_000, range?.toMs ?? Date.now());
    status.textContent = '';
    if (e.status === 400 && (e.param === 'q' || !e.param)) {
      qError.replaceChildren(el('strong', {}, 'Query error: '), e.message);
      const pos = errorPosition(e.message, state.q, state.filters);
      if (pos >= 0) {
        // Point at the place: the query with a caret under the position.
        const typed = state.q.trim();
        qError.append(el('div', { class: 'caret-line' }, typed.slice(0, pos), el('span', { class: 'caret-at' }, typed.slice(pos, pos + 1) || ' '), typed.slice(pos + 1)));
        qInput.focus();
        qInput.setSelectionRange(pos, pos + 1);
      }
      qError.hidden = false;
      qInput.classList.add('invalid');
      return;
    }
    status.className = 'results-status error';
    status.replaceChildren(el('strong', {}, e.param ? `${e.param}: ` : 'Error: '), e.message);
  }

  // --- facets
  function renderFacets(data) {
    const groups = (data?.fields ?? []).filter((g) => g.values?.length);
    groups.sort((a, b) => rank(a.name) - rank(b.name));
    if (!groups.length) {
      facets.replaceChildren(el('p', { class: 'muted facets-empty' }, data ? 'No fields in these hits.' : 'Fields unavailable.'));
      return;
    }
    facets.replaceChildren(...groups.map((g) => {
      const max = Math.max(...g.values.map((v) => v.count));
      return el('section', { class: 'facet', dataset: { field: g.name } },
        el('h3', {}, g.name),
        el('ul', {}, g.values.map((v) => {
          const active = state.filters.find((f) => f.field === g.name && f.value === v.value);
          return el('li', {}, el('button', {
            type: 'button',
            class: `facet-value${active ? (active.exclude ? ' excluded' : ' included') : ''}`,
            title: `${v.value}\nclick: filter · shift-click: exclude`,
            dataset: { value: v.value },
            onclick: (ev) => go({ ...state, filters: toggleFilter(state.filters, g.name, v.value, ev.shiftKey) }),
          },
          el('span', { class: 'facet-bar', style: `width:${(v.count / max) * 100}%` }),
          el('span', { class: 'facet-name' }, v.value === '' ? '(empty)' : v.value),
          el('span', { class: 'facet-count' }, formatNumber(v.count))));
        })));
    }));
  }
  function rank(name) {
    const i = FACET_FIELDS.indexOf(name);
    return i < 0 ? FACET_FIELDS.length : i;
  }

  function renderPills() {
    pills.replaceChildren(...state.filters.map((f) => el('span', { class: `pill${f.exclude ? ' pill-exclude' : ''}`, dataset: { field: f.field } },
      el('button', { type: 'button', class: 'pill-body', title: 'Click to invert',
        onclick: () => go({ ...state, filters: toggleFilter(state.filters, f.field, f.value, !f.exclude) }) },
      f.exclude ? 'NOT ' : '', el('b', {}, `${f.field}:`), ` ${f.value}`),
      el('button', { type: 'button', class: 'pill-x', 'aria-label': `Remove filter ${f.field}:${f.value}`,
        onclick: () => go({ ...state, filters: state.filters.filter((x) => x !== f) }) }, '×'))));
    pills.hidden = state.filters.length === 0;
  }

  // --- detail panel
  function select(i) {
    const prev = selected;
    selected = i;
    list.refreshRow(prev);
    list.refreshRow(i);
    showDetail(hits[i]);
  }

  function closeDetail() {
    detail.hidden = true;
    body.classList.remove('with-detail');
    if (selected >= 0) {
      const prev = selected;
      selected = -1;
      list.refreshRow(prev);
    }
  }

  function fieldRows(hit) {
    const rows = [['time', hit.time], ['host', hit.host], ['path', hit.path], ['topic', hit.topic],
      ['offset', String(hit.offset)], ['file_id', hit.file_id]];
    for (const [k, v] of Object.entries(hit.fields ?? {})) rows.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
    return rows;
  }

  function showDetail(hit) {
    if (!hit) return;
    const filterable = (k) => k !== 'time' && k !== 'offset' && k !== 'file_id';
    const table = el('table', { class: 'fields' }, fieldRows(hit).map(([k, v]) => el('tr', {},
      el('th', {}, k),
      el('td', {}, el('span', { class: 'field-value' }, v)),
      el('td', { class: 'field-actions' }, filterable(k) ? [
        el('button', { type: 'button', class: 'btn btn-icon btn-tiny', title: `Filter ${k}: ${v}`, onclick: () => go({ ...state, filters: addFilter(k, v, false) }) }, '+'),
        el('button', { type: 'button', class: 'btn btn-icon btn-tiny', title: `Exclude ${k}: ${v}`, onclick: () => go({ ...state, filters: addFilter(k, v, true) }) }, '−'),
      ] : null))));
    const msg = highlighted(el('pre', { class: 'message', 'data-testid': 'detail-message' }), hit.message, hit.highlight);
    detail.replaceChildren(
      panelHead('Line', [
        el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'copy-line', onclick: async () => {
          toast((await copyText(hit.message)) ? 'Line copied' : 'Copy failed', 'info');
        } }, 'Copy line'),
        el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'view-context', onclick: () => showContext(hit) }, 'View in context'),
      ]),
      el('div', { class: 'panel-body' }, msg, table));
    detail.hidden = false;
    body.classList.add('with-detail');
  }

  function addFilter(field, value, exclude) {
    return [...state.filters.filter((f) => !(f.field === field && f.value === value)), { field, value, exclude }];
  }

  function panelHead(title, actions) {
    return el('div', { class: 'panel-head' },
      el('h3', {}, title),
      el('div', { class: 'panel-actions' }, actions,
        el('button', { type: 'button', class: 'btn btn-icon', 'aria-label': 'Close (Esc)', title: 'Close (Esc)', onclick: closeDetail }, '×')));
  }

  async function showContext(hit) {
    const box = el('div', { class: 'context', 'data-testid': 'context' }, el('p', { class: 'muted' }, 'Loading…'));
    detail.replaceChildren(
      panelHead('In context', [el('button', { type: 'button', class: 'btn btn-small', onclick: () => showDetail(hit) }, '← Line')]),
      el('div', { class: 'panel-sub muted' }, `${hit.host} · ${hit.path}`),
      el('div', { class: 'panel-body' }, box));
    try {
      const res = await apiGet('/api/context', { host: hit.host, file_id: hit.file_id, offset: hit.offset, before: 30, after: 30 });
      const lines = res.hits ?? [];
      box.replaceChildren(...lines.map((h, i) => el('div', { class: `ctx-line${i === res.anchor ? ' anchor' : ''}`, dataset: { offset: String(h.offset) } },
        el('span', { class: 'ts' }, formatTime(Date.parse(h.time)).slice(11)),
        i === res.anchor ? highlighted(el('span', { class: 'msg' }), h.message, hit.highlight) : el('span', { class: 'msg' }, h.message))));
      if (!lines.length) box.replaceChildren(el('p', { class: 'muted' }, 'No lines around this one are stored.'));
      box.querySelector('.anchor')?.scrollIntoView({ block: 'center' });
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error-text' }, `Could not load the context: ${e.message}`));
    }
  }

  return {
    update(params) {
      state = parseSearchState(params);
      qInput.value = state.q;
      picker.set(state);
      renderPills();
      run();
    },
    unmount() {
      abort?.abort();
      list.destroy();
    },
  };
}
