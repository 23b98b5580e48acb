// The header of a side panel (the search page's line panel, the entries editor): a title,
// the panel's action buttons and a close button (×, also Esc).

import { el } from '../format.js';

// panelHeader(title, {actions, onClose}) → the header element.
export function panelHeader(title, { actions = [], onClose }) {
  return el('div', { class: 'panel-head' },
    el('h3', {}, title),
    el('div', { class: 'panel-actions' }, actions,
      el('button', { type: 'button', class: 'btn btn-icon', 'aria-label': 'Close (Esc)', title: 'Close (Esc)', onclick: onClose }, '×')));
}
