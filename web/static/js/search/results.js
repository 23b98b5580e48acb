// The search page's results: a status line (searching, nothing found, an error) and the hits
// newest first in a virtual list that asks for the next page near its end. A click on a hit,
// or the arrow keys (j/k) and Enter, open it in the line panel.

import { el, highlighted } from '../format.js';
import { formatTime } from '../timerange.js';
import { VirtualList } from '../virtuallist.js';

const ROW_HEIGHT = 28;

// createResultsPanel(model, {above, onSelect(i), onMove(d), onOpen(), onNearEnd()}) →
// {el, searching(), loadingMore(), show(), showMore(), refreshRow(i), scrollTo(i), clear(),
// error(e), moreFailed(e), destroy()}. above is an element placed over the status (the
// histogram card).
export function createResultsPanel(model, { above, onSelect, onMove, onOpen, onNearEnd }) {
  const status = el('div', { class: 'results-status', 'data-testid': 'results-status' });
  const listEl = el('div', { class: 'results-list', role: 'list', tabindex: '0', 'data-testid': 'results' });
  const root = el('section', { class: 'results' }, above, status, listEl);
  const list = new VirtualList(listEl, { rowHeight: ROW_HEIGHT, renderRow: hitRow, onNearEnd });

  function hitRow(hit, i) {
    return el('div', { class: `hit${i === model.selected ? ' selected' : ''}`, role: 'listitem', dataset: { index: String(i) } },
      el('span', { class: 'ts', title: hit.read_time ? `${hit.time} (read ${hit.read_time})` : hit.time }, formatTime(Date.parse(hit.time))),
      el('span', { class: 'host', title: hit.host }, hit.host),
      highlighted(el('span', { class: 'msg' }), hit.message, hit.highlight));
  }

  function setStatus(kind, ...content) {
    status.className = `results-status${kind ? ` ${kind}` : ''}`;
    status.replaceChildren(...content);
  }

  // settled: the status says "No lines match" when nothing does, else nothing.
  function settled() {
    listEl.dataset.count = String(model.hits.length);
    if (model.hits.length) setStatus('');
    else setStatus('', el('div', { class: 'empty' },
      el('strong', {}, 'No lines match'), el('span', {}, ' in this time range. Try a wider range or fewer words.')));
  }

  listEl.addEventListener('click', (ev) => {
    const row = ev.target.closest('.hit');
    if (row) onSelect(Number(row.dataset.index));
  });
  listEl.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'j') onMove(1);
    else if (ev.key === 'ArrowUp' || ev.key === 'k') onMove(-1);
    else if (ev.key === 'Enter') onOpen();
    else return;
    ev.preventDefault();
  });

  return {
    el: root,
    searching() {
      setStatus('loading', 'Searching…');
      root.classList.add('busy');
    },
    loadingMore() {
      setStatus('loading', 'Loading older lines…');
    },
    // show lists the model's hits from the top; showMore the ones a next page appended.
    show() {
      root.classList.remove('busy');
      list.setItems(model.hits);
      settled();
    },
    showMore() {
      list.update();
      settled();
    },
    refreshRow: (i) => list.refreshRow(i),
    scrollTo: (i) => list.scrollToIndex(i),
    // clear empties the list after an error (a query error is shown by the query bar).
    clear() {
      root.classList.remove('busy');
      list.setItems(model.hits);
      listEl.dataset.count = String(model.hits.length);
      setStatus('');
    },
    error(e) {
      setStatus('error', el('strong', {}, e.param ? `${e.param}: ` : 'Error: '), e.message);
    },
    moreFailed(e) {
      setStatus('', `Could not load more: ${e.message}`);
    },
    destroy: () => list.destroy(),
  };
}
