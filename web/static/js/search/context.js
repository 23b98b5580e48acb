// The line panel's "in context" view: the lines before and after a hit in its file, in file
// order, the hit itself marked and scrolled to the middle.

import { el, highlighted } from '../format.js';
import { formatTime } from '../timerange.js';

// contextView(hit) → {nodes, show({hits, anchor}), fail(error)}: nodes go into the panel
// under its header and say "Loading…" until show or fail fills them in.
export function contextView(hit) {
  const box = el('div', { class: 'context', 'data-testid': 'context' }, el('p', { class: 'muted' }, 'Loading…'));

  function line(h, isAnchor) {
    return el('div', { class: `ctx-line${isAnchor ? ' anchor' : ''}`, dataset: { offset: String(h.offset) } },
      el('span', { class: 'ts' }, formatTime(Date.parse(h.time)).slice(11)),
      isAnchor ? highlighted(el('span', { class: 'msg' }), h.message, hit.highlight) : el('span', { class: 'msg' }, h.message));
  }

  return {
    nodes: [el('div', { class: 'panel-sub muted' }, `${hit.host} · ${hit.path}`), el('div', { class: 'panel-body' }, box)],
    show(res) {
      const lines = res.hits ?? [];
      if (!lines.length) {
        box.replaceChildren(el('p', { class: 'muted' }, 'No lines around this one are stored.'));
        return;
      }
      box.replaceChildren(...lines.map((h, i) => line(h, i === res.anchor)));
      box.querySelector('.anchor')?.scrollIntoView({ block: 'center' });
    },
    fail(e) {
      box.replaceChildren(el('p', { class: 'error-text' }, `Could not load the context: ${e.message}`));
    },
  };
}
