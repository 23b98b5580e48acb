// Hosts: the hosts with metrics or logs and when each was last seen, and for the chosen host
// charts of CPU, load, memory, disk, disk IO and network over the picked time range,
// refreshed on an interval while the range is relative to now.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { apiGet } from '../api.js';
import { el, formatBytes } from '../format.js';
import { CHARTS, chartData, lastIndexes } from '../metrics.js';
import { createTimePicker } from '../timepicker.js';
import { PRESETS, formatTime, isRelative, parseDuration, relativeTime, resolveRange } from '../timerange.js';
import { hostsStateToParams, parseHostsState } from '../urlstate.js';

// Tick steps for byte axes: 1, 2, 5, 10… of each binary unit, so labels read "4 MiB".
const BYTE_INCRS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4].flatMap((u) => [1, 2, 5, 10, 20, 50, 100, 200, 500].map((m) => m * u));
const REFRESH = ['off', '10s', '30s', '1m', '5m'];
const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#0891b2', '#db2777', '#ca8a04', '#475569'];

function axisValue(unit) {
  if (unit === 'bytes') return (v) => formatBytes(v);
  if (unit === 'bytes/s') return (v) => `${formatBytes(v)}/s`;
  if (unit === 'percent') return (v) => `${+v.toFixed(1)}%`;
  return (v) => `${+v.toFixed(2)}`;
}

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function mount(root, { navigate }) {
  let state = null;
  let timer = 0;
  let abort = null;
  const plots = new Map(); // chart id -> uPlot

  const picker = createTimePicker({ presets: PRESETS, onChange: (r) => go({ ...state, from: r.from, to: r.to }) });
  const refreshSel = el('select', { class: 'input select', 'aria-label': 'Auto-refresh', 'data-testid': 'refresh',
    onchange: () => go({ ...state, refresh: refreshSel.value }) },
  REFRESH.map((r) => el('option', { value: r }, r === 'off' ? 'Auto-refresh off' : `Every ${r}`)));
  const reload = el('button', { type: 'button', class: 'btn', onclick: () => load() }, 'Refresh');
  const title = el('h2', { class: 'page-title' }, 'Hosts');
  const hostList = el('ul', { class: 'host-list', 'data-testid': 'host-list' });
  const grid = el('div', { class: 'charts', 'data-testid': 'charts' });
  const note = el('div', { class: 'notice', hidden: true, 'data-testid': 'hosts-empty' });
  root.append(
    el('div', { class: 'toolbar' }, title, el('div', { class: 'spacer' }), picker.el, refreshSel, reload),
    el('div', { class: 'hosts-body' },
      el('aside', { class: 'sidebar' }, el('h3', { class: 'sidebar-title' }, 'Hosts'), hostList),
      el('section', { class: 'hosts-main' }, note, grid)));

  const cards = new Map(CHARTS.map((c) => {
    const plotEl = el('div', { class: 'chart-plot' });
    const empty = el('div', { class: 'chart-empty muted', hidden: true }, 'No data in this range');
    const card = el('div', { class: 'card chart-card', dataset: { chart: c.id } }, el('h3', {}, c.title), plotEl, empty);
    grid.append(card);
    return [c.id, { card, plotEl, empty }];
  }));
  const resize = new ResizeObserver(() => {
    for (const [id, u] of plots) {
      const { plotEl } = cards.get(id);
      u.setSize({ width: plotEl.clientWidth, height: 180 });
    }
  });
  resize.observe(grid);

  function go(next, opts) {
    navigate('/hosts', hostsStateToParams(next), opts);
  }

  async function loadHosts(signal) {
    const res = await apiGet('/api/hosts', {}, signal);
    const hosts = (res.hosts ?? []).slice().sort((a, b) => a.host.localeCompare(b.host));
    const now = Date.now();
    hostList.replaceChildren(...hosts.map((h) => el('li', {}, el('a', {
      href: `/hosts?${hostsStateToParams({ ...state, host: h.host })}`, 'data-link': true,
      class: h.host === state.host ? 'active' : '', dataset: { host: h.host },
    }, el('span', { class: 'host-name' }, h.host),
    el('span', { class: 'muted host-seen', title: h.last_seen }, h.last_seen ? relativeTime(Date.parse(h.last_seen), now) : '')))));
    if (!hosts.length) hostList.replaceChildren(el('li', { class: 'muted' }, 'No hosts yet'));
    return hosts;
  }

  async function load() {
    abort?.abort();
    abort = new AbortController();
    const signal = abort.signal;
    try {
      const hosts = await loadHosts(signal);
      if (!state.host && hosts.length) {
        go({ ...state, host: hosts[0].host }, { replace: true });
        return;
      }
      title.textContent = state.host ? `Host ${state.host}` : 'Hosts';
      const { fromMs, toMs } = resolveRange(state, Date.now());
      let any = false;
      await Promise.all(CHARTS.map(async (chart) => {
        const answers = await Promise.all(chart.series.map(async (spec) => ({
          spec,
          answer: await apiGet('/api/metrics', { measurement: spec.measurement, field: spec.field, host: state.host, from: fromMs, to: toMs }, signal)
            .catch((e) => (e.name === 'AbortError' ? Promise.reject(e) : null)),
        })));
        const { labels, data } = chartData(chart, answers);
        if (labels.length) any = true;
        draw(chart, labels, data, fromMs, toMs);
      }));
      note.hidden = any;
      if (!any) {
        note.replaceChildren(el('strong', {}, 'No host metrics in this range yet. '),
          hosts.length ? 'The hosts listed have sent logs; their CPU, memory, disk and network charts appear here once the host-metrics collector reports (every 10 s).'
            : 'Nothing has reported yet.');
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
      note.hidden = false;
      note.replaceChildren(el('strong', {}, 'Could not load host metrics: '), e.message);
    }
  }

  function draw(chart, labels, data, fromMs, toMs) {
    const { plotEl, empty } = cards.get(chart.id);
    plots.get(chart.id)?.destroy();
    plots.delete(chart.id);
    empty.hidden = labels.length > 0;
    if (!labels.length) return;
    const fmt = axisValue(chart.unit);
    const axisColor = css('--muted');
    const gridColor = css('--grid');
    const last = lastIndexes(data);
    const showLast = (u) => { if (u.cursor.idx == null) u.setLegend({ idxs: last }, false); };
    const opts = {
      width: plotEl.clientWidth || 400,
      hooks: { ready: [showLast], setCursor: [showLast] },
      height: 180,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: [fromMs / 1000, toMs / 1000] }, y: { range: (u, min, max) => [0, chart.max ?? Math.max(max * 1.1, chart.unit === 'percent' ? 1 : 0.01)] } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, size: 84, values: (u, vals) => vals.map(fmt),
          incrs: chart.unit.startsWith('bytes') ? BYTE_INCRS : undefined },
      ],
      series: [
        { value: (u, v) => (v == null ? '' : formatTime(v * 1000, false)) },
        ...labels.map((label, i) => ({
          label, stroke: PALETTE[i % PALETTE.length], width: 1.5, fill: labels.length === 1 ? `${PALETTE[0]}22` : undefined,
          // uPlot's default shows the points while they are sparse (a collector that just
          // started has a few at the right edge of the range).
          value: (u, v) => (v == null ? '–' : fmt(v)), spanGaps: false,
        })),
      ],
    };
    plots.set(chart.id, new uPlot(opts, data, plotEl));
  }

  function schedule() {
    clearInterval(timer);
    const ms = parseDuration(state.refresh);
    if (state.refresh !== 'off' && ms > 0 && isRelative(state.to)) timer = setInterval(load, ms);
  }

  return {
    update(params) {
      state = parseHostsState(params);
      picker.set(state);
      refreshSel.value = REFRESH.includes(state.refresh) ? state.refresh : '30s';
      schedule();
      load();
    },
    unmount() {
      clearInterval(timer);
      abort?.abort();
      resize.disconnect();
      for (const u of plots.values()) u.destroy();
    },
  };
}
