// The search page's histogram card: how many hits, over which range and how fast, a zoom-out
// button, and the histogram of hits over time (a click or a drag zooms in).

import { el, formatNumber } from '../format.js';
import { createHistogram } from '../histogram.js';
import { describeRange, zoomOut } from '../timerange.js';

// totalText is the header's count of hits: "1,234", or "≈ 1,234" when the API says the
// total was estimated from a sample (total_estimated), never as if it were counted.
export function totalText({ total, estimated }) {
  return `${estimated ? '≈ ' : ''}${formatNumber(total)}`;
}

// createHistogramPanel(model, {onRange(fromMs, toMs)}) → {el, render(), clear()}.
export function createHistogramPanel(model, { onRange }) {
  const hist = createHistogram({ onZoom: onRange });
  const summary = el('div', { class: 'summary', 'data-testid': 'summary' });
  const zoomOutBtn = el('button', { type: 'button', class: 'btn btn-small', title: 'Zoom out (twice the range)', onclick: () => {
    if (!model.range) return;
    const r = zoomOut(model.range.fromMs, model.range.toMs, Date.now());
    onRange(r.fromMs, r.toMs);
  } }, '− Zoom out');
  const root = el('div', { class: 'hist-card' }, el('div', { class: 'hist-head' }, summary, zoomOutBtn), hist.el);

  return {
    el: root,
    // render shows the model's answer.
    render() {
      const { answer, range } = model;
      hist.render(answer.buckets, answer.stepMs, range.fromMs, range.toMs);
      summary.replaceChildren(
        el('strong', { 'data-testid': 'total', title: answer.estimated ? 'estimated from a sample of the lines' : undefined }, totalText(answer)),
        ` ${answer.total === 1 ? 'hit' : 'hits'}`,
        el('span', { class: 'muted' }, ` · ${describeRange(model.state)} · ${answer.tookMs} ms`));
    },
    // clear empties the card after an error, keeping the last range's axis.
    clear() {
      const now = Date.now();
      summary.textContent = '';
      hist.render([], 0, model.range?.fromMs ?? now - 900_000, model.range?.toMs ?? now);
    },
  };
}
