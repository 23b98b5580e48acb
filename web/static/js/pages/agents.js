// Agents: the live components registered in etcd (agents, transfers, sysagents, the
// standalone itself), refreshed every few seconds; a component that dies drops out when its
// lease expires.

import { apiGet } from '../api.js';
import { el } from '../format.js';
import { formatTime, relativeTime } from '../timerange.js';

const REFRESH_MS = 5000;

// roleOf is a registration's role; records written before roles existed (the agent's) have
// none, and are agents when they carry collect keys.
export function roleOf(a) {
  return a.role || (Array.isArray(a.collect_keys) ? 'agent' : 'unknown');
}

// fileList reads a registration's files, whatever their shape: strings, or objects with a path.
export function fileList(files) {
  if (!Array.isArray(files)) return [];
  return files.map((f) => (typeof f === 'string' ? f : f?.path ?? JSON.stringify(f)));
}

export function mount(root) {
  let timer = 0;
  let abort = null;
  const open = new Set(); // ids whose files are shown
  const updated = el('span', { class: 'muted' });
  const tbody = el('tbody');
  const note = el('div', { class: 'notice', hidden: true });
  root.append(
    el('div', { class: 'toolbar' }, el('h2', { class: 'page-title' }, 'Agents'), el('div', { class: 'spacer' }), updated,
      el('button', { type: 'button', class: 'btn', onclick: () => load() }, 'Refresh')),
    note,
    el('div', { class: 'card table-card' }, el('table', { class: 'table', 'data-testid': 'agents' },
      el('thead', {}, el('tr', {}, ['Role', 'ID', 'Host', 'IP', 'Version', 'Started', 'Files'].map((h) => el('th', {}, h)))),
      tbody)));

  async function load() {
    abort?.abort();
    abort = new AbortController();
    try {
      const res = await apiGet('/api/agents', {}, abort.signal);
      const agents = (res.agents ?? []).slice().sort((a, b) => `${roleOf(a)}${a.id}`.localeCompare(`${roleOf(b)}${b.id}`));
      const now = Date.now();
      note.hidden = agents.length > 0;
      note.textContent = 'No live components are registered in etcd.';
      tbody.replaceChildren(...agents.flatMap((a) => {
        const files = fileList(a.files);
        const started = a.started_at ? Date.parse(a.started_at) : NaN;
        const row = el('tr', { dataset: { id: a.id } },
          el('td', {}, el('span', { class: `role role-${roleOf(a)}` }, roleOf(a))),
          el('td', { class: 'mono' }, a.id),
          el('td', {}, a.hostname ?? ''),
          el('td', { class: 'mono' }, a.ip ?? ''),
          el('td', { class: 'mono' }, a.version ?? ''),
          el('td', { title: a.started_at ?? '' }, Number.isNaN(started) ? '' : `${relativeTime(started, now)} · ${formatTime(started, false)}`),
          el('td', {}, files.length ? el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'files', onclick: () => {
            if (open.has(a.id)) open.delete(a.id);
            else open.add(a.id);
            load();
          } }, `${files.length} ${files.length === 1 ? 'file' : 'files'} ${open.has(a.id) ? '▾' : '▸'}`) : el('span', { class: 'muted' }, '–')));
        if (!open.has(a.id) || !files.length) return [row];
        return [row, el('tr', { class: 'subrow' }, el('td', { colspan: '7' }, el('ul', { class: 'file-list mono' }, files.map((f) => el('li', {}, f)))))];
      }));
      updated.textContent = `updated ${formatTime(now, false).slice(11)}`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      note.hidden = false;
      note.textContent = `Could not load the agents: ${e.message}`;
    }
  }

  return {
    update() {
      clearInterval(timer);
      timer = setInterval(load, REFRESH_MS);
      load();
    },
    unmount() {
      clearInterval(timer);
      abort?.abort();
    },
  };
}
