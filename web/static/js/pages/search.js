// The search page (Discover), its controller: the query bar and filter pills on top, then
// the facets, the histogram card over the hits, and the line panel (search/*.js, one module
// per panel). The panels render from the model (search/model.js) and report what the user
// asks for; this file turns each request into a URL (so the back button and shared links
// work) or into a call to the model, and tells the panels to render what came back.

import { apiGet } from '../api.js';
import { el } from '../format.js';
import { toISO } from '../timerange.js';
import { errorPosition, parseSearchState, searchStateToParams, toggleFilter } from '../urlstate.js';
import { createDetailPanel } from '../search/detail.js';
import { createFacetsPanel } from '../search/facets.js';
import { createFilterPills } from '../search/filterpills.js';
import { createHistogramPanel } from '../search/histogrampanel.js';
import { SearchModel, withFilter } from '../search/model.js';
import { createQueryBar } from '../search/querybar.js';
import { createResultsPanel } from '../search/results.js';

export function mount(root, { navigate }) {
  const model = new SearchModel({ get: apiGet });

  // go shows the search page for next (a state as parseSearchState returns).
  function go(next) {
    const before = location.search;
    navigate('/search', searchStateToParams(next));
    // The same URL again (Enter on the same query): run it anyway, relative times move on.
    if (location.search === before) run();
  }
  const change = (part) => go({ ...model.state, ...part });
  const filterIntents = {
    onToggle: (field, value, exclude) => change({ filters: toggleFilter(model.state.filters, field, value, exclude) }),
    onAdd: (field, value, exclude) => change({ filters: withFilter(model.state.filters, field, value, exclude) }),
    onRemove: (f) => change({ filters: model.state.filters.filter((x) => x !== f) }),
  };

  const bar = createQueryBar({ onSubmit: (q) => change({ q }), onRange: ({ from, to }) => change({ from, to }) });
  const pills = createFilterPills(model, filterIntents);
  const facets = createFacetsPanel(model, filterIntents);
  const hist = createHistogramPanel(model, { onRange: (fromMs, toMs) => change({ from: toISO(fromMs), to: toISO(toMs) }) });
  const results = createResultsPanel(model, {
    above: hist.el, onSelect: select, onMove: move, onNearEnd: loadMore,
    onOpen: () => openLine(model.hits[model.selected]),
  });
  const detail = createDetailPanel({ ...filterIntents, onContext: showContext, onClose: closeLine });
  const body = el('div', { class: 'search-body' }, facets.el, results.el, detail.el);
  root.append(bar.form, bar.error, pills.el, body);

  async function run() {
    const t0 = performance.now();
    closeLine();
    bar.clearError();
    results.searching();
    try {
      await model.search(Date.now());
    } catch (e) {
      if (e.name !== 'AbortError') showError(e);
      return;
    }
    // Facets are asked for once the hits are in: on a small machine a concurrent facet
    // count would slow down the first screen, which matters more.
    const fields = model.loadFields();
    results.show();
    hist.render();
    painted(t0);
    try {
      await fields;
    } catch {
      return; // loadFields rejects only when a newer search replaced this one
    }
    facets.render();
  }

  // painted tells whoever listens (the UI bench, tests) how long the first screen took.
  function painted(t0) {
    const { answer, hits } = model;
    requestAnimationFrame(() => document.dispatchEvent(new CustomEvent('lc:results', {
      detail: { ms: performance.now() - t0, tookMs: answer.tookMs, total: answer.total, hits: hits.length },
    })));
  }

  async function loadMore() {
    if (!model.hasMore()) return;
    results.loadingMore();
    try {
      await model.loadMore();
      results.showMore();
    } catch (e) {
      if (e.name !== 'AbortError') results.moreFailed(e);
    }
  }

  // showError empties the page; a query error is shown under the query, others over the list.
  function showError(e) {
    model.fail();
    facets.placeholder();
    results.clear();
    hist.clear();
    if (e.status === 400 && (e.param === 'q' || !e.param)) {
      const { q, filters } = model.state;
      bar.showError(e.message, q.trim(), errorPosition(e.message, q, filters));
    } else {
      results.error(e);
    }
  }

  // --- the line panel
  function select(i) {
    const prev = model.select(i);
    results.refreshRow(prev);
    results.refreshRow(i);
    openLine(model.hits[i]);
  }

  function move(d) {
    const i = model.step(d);
    if (i < 0) return;
    select(i);
    results.scrollTo(i);
  }

  function openLine(hit) {
    if (!hit) return;
    detail.showLine(hit);
    body.classList.add('with-detail');
  }

  function closeLine() {
    detail.hide();
    body.classList.remove('with-detail');
    results.refreshRow(model.select(-1));
  }

  function showContext(hit) {
    const view = detail.showContext(hit);
    model.context(hit).then(view.show, view.fail);
  }

  return {
    update(params) {
      model.state = parseSearchState(params);
      bar.render(model.state);
      pills.render();
      run();
    },
    unmount() {
      model.abort();
      results.destroy();
    },
  };
}
