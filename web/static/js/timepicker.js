// The time range picker shared by the search and hosts pages: presets and a custom range
// (relative like now-2h, or absolute from the date inputs).

import { el } from './format.js';
import { createPopover } from './widgets/popover.js';
import { PRESETS, describeRange, isRelative, parseTime, toLocalInput, toISO } from './timerange.js';

// createTimePicker({presets, onChange(range)}) → {el, set(range)}.
export function createTimePicker({ presets = PRESETS, onChange }) {
  let range = { from: 'now-15m', to: 'now' };
  const label = el('span', { class: 'tp-label' });
  const button = el('button', { type: 'button', class: 'btn tp-button', 'aria-haspopup': 'dialog', 'data-testid': 'time-picker' },
    el('span', { class: 'icon-clock', 'aria-hidden': 'true' }), label);
  const fromIn = el('input', { type: 'text', class: 'input', name: 'from', placeholder: 'now-1h or 2026-12-01 08:00', spellcheck: 'false' });
  const toIn = el('input', { type: 'text', class: 'input', name: 'to', placeholder: 'now', spellcheck: 'false' });
  const err = el('div', { class: 'field-error', role: 'alert' });
  const list = el('ul', { class: 'tp-presets' }, presets.map((p) => el('li', {},
    el('button', { type: 'button', class: 'tp-preset', 'data-from': p.from, onclick: () => choose({ from: p.from, to: 'now' }) }, p.label))));
  const form = el('form', { class: 'tp-custom', onsubmit: (ev) => { ev.preventDefault(); applyCustom(); } },
    el('h4', {}, 'Custom range'),
    el('label', {}, 'From', fromIn),
    el('label', {}, 'To', toIn),
    el('div', { class: 'hint' }, 'Relative (now-2h) or a local time (2026-12-01 08:00).'),
    err,
    el('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'));
  const popover = createPopover({
    button, content: [list, form], className: 'tp-pop', wrapClass: 'tp',
    attrs: { role: 'dialog', 'aria-label': 'Time range' }, onOpen: fill,
  });

  function show(v) {
    return isRelative(v) ? v : toLocalInput(parseTime(v, Date.now())).replace('T', ' ');
  }
  // fill puts the current range into the box as it opens.
  function fill() {
    fromIn.value = show(range.from);
    toIn.value = show(range.to);
    err.textContent = '';
    list.querySelectorAll('.tp-preset').forEach((b) => b.classList.toggle('active', range.to === 'now' && b.dataset.from === range.from));
  }
  function choose(r) {
    popover.close();
    onChange(r);
  }
  // A typed absolute time is local time; it goes into the URL as UTC.
  function normalise(v) {
    const s = v.trim();
    if (isRelative(s)) return s;
    return toISO(parseTime(s, Date.now()));
  }
  function applyCustom() {
    try {
      const r = { from: normalise(fromIn.value || 'now-15m'), to: normalise(toIn.value || 'now') };
      const now = Date.now();
      if (!(parseTime(r.from, now) < parseTime(r.to, now))) throw new Error('From must be before To');
      choose(r);
    } catch (e) {
      err.textContent = e.message;
    }
  }
  return {
    el: popover.el,
    set(r) {
      range = r;
      label.textContent = describeRange(r);
    },
  };
}
