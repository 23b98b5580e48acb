// Live tail: the query's new lines as they are stored, oldest at the top like `tail -f`.
// Auto-scroll follows the newest line until the user scrolls up; pause freezes the view
// while lines keep arriving in a buffer; only the newest `cap` lines are kept.

import { apiURL } from '../api.js';
import { el, formatNumber, highlighted } from '../format.js';
import { TailStream } from '../sse.js';
import { formatTime } from '../timerange.js';
import { VirtualList } from '../virtuallist.js';

const ROW_HEIGHT = 24;
export const CAPS = [1000, 5000, 20000];

// keepNewest trims a buffer to its newest cap items, returning how many were dropped.
export function keepNewest(items, cap) {
  const drop = Math.max(0, items.length - cap);
  if (drop) items.splice(0, drop);
  return drop;
}

export function mount(root, { navigate }) {
  let q = null;
  let stream = null;
  let paused = false;
  let follow = true;
  let cap = CAPS[1];
  let pending = []; // arrived while paused
  let received = 0;
  let unseen = 0;

  const qInput = el('input', { type: 'search', class: 'input query-input', name: 'q', 'data-search-box': true, autocomplete: 'off',
    spellcheck: 'false', placeholder: 'Tail lines matching… (empty: every line)', 'aria-label': 'Query' });
  const qError = el('div', { class: 'query-error', role: 'alert', hidden: true, 'data-testid': 'query-error' });
  const pauseBtn = el('button', { type: 'button', class: 'btn', 'data-testid': 'pause', onclick: () => setPaused(!paused) }, 'Pause');
  const capSel = el('select', { class: 'input select', 'aria-label': 'Lines kept', onchange: () => {
    cap = Number(capSel.value);
    list.dropFirst(Math.max(0, list.items.length - cap));
    counts();
  } }, CAPS.map((c) => el('option', { value: String(c), selected: c === cap }, `keep ${formatNumber(c)} lines`)));
  const clearBtn = el('button', { type: 'button', class: 'btn', onclick: () => { list.setItems([]); pending = []; counts(); } }, 'Clear');
  const stateBadge = el('span', { class: 'badge', 'data-testid': 'tail-state' });
  const countEl = el('span', { class: 'muted tail-count' });
  const form = el('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const v = qInput.value.trim();
    const p = v ? new URLSearchParams({ q: v }) : new URLSearchParams();
    if (v === q) restart();
    else navigate('/tail', p);
  } }, el('div', { class: 'query-wrap' }, qInput), el('button', { type: 'submit', class: 'btn btn-primary' }, 'Tail'), pauseBtn, capSel, clearBtn);
  const listEl = el('div', { class: 'results-list tail-list', role: 'log', 'aria-live': 'off', 'data-testid': 'tail-lines' });
  const jump = el('button', { type: 'button', class: 'btn btn-primary jump', hidden: true, 'data-testid': 'jump', onclick: () => {
    follow = true;
    list.scrollToBottom();
    unseen = 0;
    jump.hidden = true;
  } });
  const empty = el('div', { class: 'tail-empty muted' }, 'Waiting for new lines… append to a collected file and it shows up here within a second.');
  root.append(form, qError,
    el('div', { class: 'tail-bar' }, stateBadge, countEl),
    el('div', { class: 'tail-wrap' }, listEl, empty, jump));

  const list = new VirtualList(listEl, {
    rowHeight: ROW_HEIGHT,
    renderRow: (hit) => el('div', { class: 'hit tail-hit' },
      el('span', { class: 'ts' }, formatTime(Date.parse(hit.time))),
      el('span', { class: 'host', title: hit.host }, hit.host),
      el('span', { class: 'path', title: hit.path }, hit.path.split('/').pop()),
      highlighted(el('span', { class: 'msg', title: hit.message }), hit.message, hit.highlight)),
    onScroll: () => {
      // Scrolling up stops following; back at the bottom, it follows again.
      follow = list.atBottom(ROW_HEIGHT);
      if (follow) {
        unseen = 0;
        jump.hidden = true;
      }
    },
  });

  function counts() {
    countEl.textContent = `${formatNumber(list.items.length)} shown · ${formatNumber(received)} received` +
      (paused && pending.length ? ` · ${formatNumber(pending.length)} waiting` : '');
    empty.hidden = list.items.length > 0;
  }

  function setPaused(p) {
    paused = p;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('btn-warn', paused);
    if (!paused && pending.length) {
      const batch = pending;
      pending = [];
      add(batch);
    }
    counts();
  }

  function add(batch) {
    const wasAtBottom = follow;
    list.append(batch);
    list.dropFirst(Math.max(0, list.items.length - cap));
    if (wasAtBottom) list.scrollToBottom();
    else {
      unseen += batch.length;
      jump.textContent = `↓ ${formatNumber(unseen)} new`;
      jump.hidden = false;
    }
    counts();
  }

  // Lines arrive one event each; they are added once per animation frame.
  let incoming = [];
  let frame = 0;
  function onEvent(ev) {
    if (ev.event !== 'hit') return;
    let hit;
    try {
      hit = JSON.parse(ev.data);
    } catch {
      return;
    }
    received++;
    if (paused) {
      pending.push(hit);
      keepNewest(pending, cap);
      counts();
      return;
    }
    incoming.push(hit);
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      const batch = incoming;
      incoming = [];
      add(batch);
    });
  }

  function onState(s, detail) {
    const text = { connecting: 'Connecting…', open: 'Live', reconnecting: `Reconnecting in ${Math.round((detail ?? 0) / 1000)} s…`, closed: 'Stopped', error: 'Stopped' }[s];
    stateBadge.textContent = text;
    stateBadge.className = `badge badge-${s}`;
    if (s === 'error') {
      qError.replaceChildren(el('strong', {}, 'Query error: '), String(detail));
      qError.hidden = false;
      qInput.classList.add('invalid');
    }
  }

  function restart() {
    stream?.stop();
    qError.hidden = true;
    qInput.classList.remove('invalid');
    list.setItems([]);
    pending = [];
    received = 0;
    unseen = 0;
    follow = true;
    jump.hidden = true;
    counts();
    stream = new TailStream({ url: apiURL('/api/tail', { q }), onEvent, onState }).start();
  }

  return {
    update(params) {
      const next = params.get('q') ?? '';
      qInput.value = next;
      if (next === q && stream) return;
      q = next;
      restart();
    },
    unmount() {
      stream?.stop();
      cancelAnimationFrame(frame);
      list.destroy();
    },
  };
}
