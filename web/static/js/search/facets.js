// The search page's facets: for host, path, topic and the parsed fields, the most frequent
// values in the hits with their counts. A click filters by a value, a shift-click excludes it.

import { el, formatNumber } from '../format.js';
import { facetGroups } from './model.js';

// createFacetsPanel(model, {onToggle(field, value, exclude)}) → {el, render(), placeholder()}.
export function createFacetsPanel(model, { onToggle }) {
  const root = el('aside', { class: 'facets', 'aria-label': 'Filters', 'data-testid': 'facets' });

  function note(text) {
    root.replaceChildren(el('p', { class: 'muted facets-empty' }, text));
  }

  function valueButton(field, v, max) {
    const active = model.state.filters.find((f) => f.field === field && f.value === v.value);
    return el('button', {
      type: 'button',
      class: `facet-value${active ? (active.exclude ? ' excluded' : ' included') : ''}`,
      title: `${v.value}\nclick: filter · shift-click: exclude`,
      dataset: { value: v.value },
      onclick: (ev) => onToggle(field, v.value, ev.shiftKey),
    },
    el('span', { class: 'facet-bar', style: `width:${(v.count / max) * 100}%` }),
    el('span', { class: 'facet-name' }, v.value === '' ? '(empty)' : v.value),
    el('span', { class: 'facet-count' }, formatNumber(v.count)));
  }

  function group(g) {
    const max = Math.max(...g.values.map((v) => v.count));
    return el('section', { class: 'facet', dataset: { field: g.name } },
      el('h3', {}, g.name),
      el('ul', {}, g.values.map((v) => el('li', {}, valueButton(g.name, v, max)))));
  }

  return {
    el: root,
    // render shows the model's fields.
    render() {
      const groups = facetGroups(model.fields);
      if (groups.length) root.replaceChildren(...groups.map(group));
      else note(model.fields ? 'No fields in these hits.' : 'Fields unavailable.');
    },
    placeholder: () => note('Fields appear here when the query runs.'),
  };
}
