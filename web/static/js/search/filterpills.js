// The search page's filters as pills under the query bar: a click on a pill inverts it
// (filter ↔ exclude), its × removes it.

import { el } from '../format.js';

// createFilterPills(model, {onToggle(field, value, exclude), onRemove(filter)}) → {el, render()}.
export function createFilterPills(model, { onToggle, onRemove }) {
  const root = el('div', { class: 'pills', 'data-testid': 'filters' });

  function pill(f) {
    return el('span', { class: `pill${f.exclude ? ' pill-exclude' : ''}`, dataset: { field: f.field } },
      el('button', { type: 'button', class: 'pill-body', title: 'Click to invert', onclick: () => onToggle(f.field, f.value, !f.exclude) },
        f.exclude ? 'NOT ' : '', el('b', {}, `${f.field}:`), ` ${f.value}`),
      el('button', { type: 'button', class: 'pill-x', 'aria-label': `Remove filter ${f.field}:${f.value}`, onclick: () => onRemove(f) }, '×'));
  }

  return {
    el: root,
    render() {
      const { filters } = model.state;
      root.replaceChildren(...filters.map(pill));
      root.hidden = filters.length === 0;
    },
  };
}
