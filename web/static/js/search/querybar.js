// The search page's query bar: the query box with the syntax help, the time picker and the
// Search button; below it, a query error with a caret under the place it points at.

import { el } from '../format.js';
import { createTimePicker } from '../timepicker.js';
import { createPopover } from '../widgets/popover.js';

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

// createQueryBar({onSubmit(q), onRange({from, to})}) → {form, error, render(state),
// clearError(), showError(message, typed, pos)}. form and error are placed by the page.
export function createQueryBar({ onSubmit, onRange }) {
  const input = el('input', {
    type: 'search', class: 'input query-input', name: 'q', 'data-search-box': true, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search logs: words, "a phrase", host:web1, NOT, OR, err*   (press / to focus)', 'aria-label': 'Query',
  });
  const error = el('div', { class: 'query-error', role: 'alert', hidden: true, 'data-testid': 'query-error' });
  const picker = createTimePicker({ onChange: onRange });
  const form = el('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); onSubmit(input.value.trim()); } },
    el('div', { class: 'query-wrap' }, input, syntaxHelp().el),
    picker.el,
    el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'run' }, 'Search'));

  return {
    form,
    error,
    render(state) {
      input.value = state.q;
      picker.set(state);
    },
    clearError() {
      error.hidden = true;
      input.classList.remove('invalid');
    },
    // showError shows a query error; pos (≥ 0) is where in the typed query it points.
    showError(message, typed, pos) {
      error.replaceChildren(el('strong', {}, 'Query error: '), message);
      if (pos >= 0) {
        error.append(el('div', { class: 'caret-line' },
          typed.slice(0, pos), el('span', { class: 'caret-at' }, typed.slice(pos, pos + 1) || ' '), typed.slice(pos + 1)));
        input.focus();
        input.setSelectionRange(pos, pos + 1);
      }
      error.hidden = false;
      input.classList.add('invalid');
    },
  };
}

// syntaxHelp is the ? button and its popover with SYNTAX_HELP.
function syntaxHelp() {
  return createPopover({
    button: el('button', { type: 'button', class: 'btn btn-icon', title: 'Search syntax', 'aria-label': 'Search syntax' }, '?'),
    className: 'help-pop',
    wrapClass: 'help-wrap',
    content: [
      el('h4', {}, 'Search syntax'),
      el('table', { class: 'help-table' }, SYNTAX_HELP.map(([ex, what]) => el('tr', {}, el('td', {}, el('code', {}, ex)), el('td', {}, what)))),
      el('p', { class: 'muted' }, 'Click a value on the left to filter by it; shift-click to exclude it.'),
    ],
  });
}
