// The search page's line panel: a hit's message and fields (each with buttons to filter by
// it or exclude it), a copy button, and "View in context" (context.js). Esc or × closes it.

import { copyText, el, highlighted, toast } from '../format.js';
import { panelHeader } from '../widgets/panelheader.js';
import { contextView } from './context.js';
import { fieldRows, filterable } from './model.js';

// createDetailPanel({onAdd(field, value, exclude), onContext(hit), onClose()}) →
// {el, showLine(hit), showContext(hit) → the context view to fill, hide()}.
export function createDetailPanel({ onAdd, onContext, onClose }) {
  const root = el('aside', { class: 'panel detail', hidden: true, 'data-closable': true, 'aria-label': 'Line details', 'data-testid': 'detail' });
  root.addEventListener('close', onClose);

  function fieldsTable(hit) {
    const filterButtons = (k, v) => [
      el('button', { type: 'button', class: 'btn btn-icon btn-tiny', title: `Filter ${k}: ${v}`, onclick: () => onAdd(k, v, false) }, '+'),
      el('button', { type: 'button', class: 'btn btn-icon btn-tiny', title: `Exclude ${k}: ${v}`, onclick: () => onAdd(k, v, true) }, '−'),
    ];
    return el('table', { class: 'fields' }, fieldRows(hit).map(([k, v]) => el('tr', {},
      el('th', {}, k),
      el('td', {}, el('span', { class: 'field-value' }, v)),
      el('td', { class: 'field-actions' }, filterable(k) ? filterButtons(k, v) : null))));
  }

  function showLine(hit) {
    const copy = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'copy-line', onclick: async () => {
      toast((await copyText(hit.message)) ? 'Line copied' : 'Copy failed', 'info');
    } }, 'Copy line');
    const inContext = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'view-context', onclick: () => onContext(hit) }, 'View in context');
    root.replaceChildren(
      panelHeader('Line', { actions: [copy, inContext], onClose }),
      el('div', { class: 'panel-body' },
        highlighted(el('pre', { class: 'message', 'data-testid': 'detail-message' }), hit.message, hit.highlight),
        fieldsTable(hit)));
    root.hidden = false;
  }

  function showContext(hit) {
    const view = contextView(hit);
    const back = el('button', { type: 'button', class: 'btn btn-small', onclick: () => showLine(hit) }, '← Line');
    root.replaceChildren(panelHeader('In context', { actions: [back], onClose }), ...view.nodes);
    return view;
  }

  return {
    el: root,
    showLine,
    showContext,
    hide() {
      root.hidden = true;
    },
  };
}
