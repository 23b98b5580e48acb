// The histogram of matches over time: one bar per bucket of the API's answer. A click on a
// bar zooms to that bucket; a drag across bars zooms to the dragged span.

import { el, formatNumber } from './format.js';
import { formatTime } from './timerange.js';

// selectionRange converts a drag between two x positions (pixels in a plot of `width`
// spanning [domainFrom, domainTo)) into a time range, whole seconds, at least one second.
export function selectionRange(x0, x1, width, domainFrom, domainTo) {
  const a = Math.max(0, Math.min(x0, x1));
  const b = Math.min(width, Math.max(x0, x1));
  const span = domainTo - domainFrom;
  const from = Math.floor((domainFrom + (a / width) * span) / 1000) * 1000;
  const to = Math.max(from + 1000, Math.ceil((domainFrom + (b / width) * span) / 1000) * 1000);
  return { fromMs: from, toMs: to };
}

// niceMax rounds a bar height scale up to 1, 2 or 5 × a power of ten.
export function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// axisTicks picks about n tick times on round boundaries across [from, to).
export function axisTicks(from, to, n = 6) {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400].map((s) => s * 1000);
  const want = (to - from) / n;
  const step = steps.find((s) => s >= want) ?? steps[steps.length - 1];
  // Round in local time for steps of a day, so ticks fall on local midnights.
  const offset = step >= 86_400_000 ? new Date(from).getTimezoneOffset() * 60_000 : 0;
  const ticks = [];
  for (let t = Math.ceil((from - offset) / step) * step + offset; t < to; t += step) ticks.push(t);
  return { ticks, step };
}

function tickLabel(t, step) {
  const s = formatTime(t, false);
  if (step >= 86_400_000) return s.slice(5, 10);
  if (step >= 60_000) return s.slice(11, 16);
  return s.slice(11, 19);
}

export function createHistogram({ onZoom }) {
  const bars = el('div', { class: 'hist-bars' });
  const sel = el('div', { class: 'hist-sel', hidden: true });
  const tip = el('div', { class: 'hist-tip', hidden: true });
  const axis = el('div', { class: 'hist-axis' });
  const ymax = el('div', { class: 'hist-ymax' });
  const plot = el('div', { class: 'hist-plot', 'data-testid': 'histogram' }, bars, sel, tip);
  const root = el('div', { class: 'hist' }, ymax, plot, axis);
  let domain = null; // {from, to, step}
  let drag = null;

  function xOf(ev) {
    const r = plot.getBoundingClientRect();
    return { x: Math.min(r.width, Math.max(0, ev.clientX - r.left)), width: r.width };
  }
  plot.addEventListener('mousedown', (ev) => {
    if (!domain || ev.button !== 0) return;
    ev.preventDefault();
    const { x } = xOf(ev);
    drag = { x0: x, x1: x };
    const move = (e) => {
      drag.x1 = xOf(e).x;
      const a = Math.min(drag.x0, drag.x1);
      sel.style.left = `${a}px`;
      sel.style.width = `${Math.abs(drag.x1 - drag.x0)}px`;
      sel.hidden = Math.abs(drag.x1 - drag.x0) < 3;
    };
    const up = (e) => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      sel.hidden = true;
      const d = drag;
      drag = null;
      const { width } = xOf(e);
      if (Math.abs(d.x1 - d.x0) >= 3) {
        const r = selectionRange(d.x0, d.x1, width, domain.from, domain.to);
        onZoom(r.fromMs, r.toMs);
        return;
      }
      // A click: zoom to the bucket under the pointer.
      const bar = e.target.closest?.('.hist-bar');
      if (bar) onZoom(Number(bar.dataset.t), Number(bar.dataset.t) + domain.step);
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });
  plot.addEventListener('mousemove', (ev) => {
    const bar = ev.target.closest('.hist-bar');
    if (!bar || drag) {
      tip.hidden = true;
      return;
    }
    const t = Number(bar.dataset.t);
    tip.textContent = `${formatNumber(bar.dataset.count)} · ${formatTime(t, false)}`;
    tip.hidden = false;
    const r = plot.getBoundingClientRect();
    const x = ev.clientX - r.left;
    tip.style.left = `${Math.min(r.width - tip.offsetWidth, Math.max(0, x - tip.offsetWidth / 2))}px`;
  });
  plot.addEventListener('mouseleave', () => { tip.hidden = true; });

  return {
    el: root,
    // render draws the buckets over [fromMs, toMs); the domain widens to whole buckets.
    render(buckets, stepMs, fromMs, toMs) {
      tip.hidden = true;
      const bs = (buckets ?? []).map((b) => ({ t: Date.parse(b.time), count: b.count }));
      const step = stepMs || (bs.length > 1 ? bs[1].t - bs[0].t : (toMs - fromMs) / 60);
      const from = bs.length ? Math.min(fromMs, bs[0].t) : fromMs;
      const to = bs.length ? Math.max(toMs, bs[bs.length - 1].t + step) : toMs;
      domain = { from, to, step };
      const max = niceMax(Math.max(0, ...bs.map((b) => b.count)));
      ymax.textContent = formatNumber(max);
      const span = to - from;
      bars.replaceChildren(...bs.map((b) => el('div', {
        class: `hist-bar${b.count ? '' : ' empty'}`,
        style: `left:${((b.t - from) / span) * 100}%;width:${(step / span) * 100}%;--h:${(b.count / max) * 100}%`,
        dataset: { t: String(b.t), count: String(b.count) },
        'aria-label': `${b.count} at ${formatTime(b.t, false)}`,
      }, el('span'))));
      const { ticks, step: tickStep } = axisTicks(from, to);
      axis.replaceChildren(...ticks.map((t) => el('span', { style: `left:${((t - from) / span) * 100}%` }, tickLabel(t, tickStep))));
    },
  };
}
