// Entries: the collect keys the standalone's agent reads and their entries. An entry is
// added, edited or removed in a form or the whole key as JSON; the server validates before
// saving (errors shown at the field) and refuses a save based on an old revision: the
// conflict is shown with the value someone else saved, and the change can be applied to it.

import { apiGet, apiPut } from '../api.js';
import { el, toast } from '../format.js';
import { applyOp, entryToForm, errorField, formToEntry, summary } from '../entryedit.js';
import { panelHeader } from '../widgets/panelheader.js';

const enc = encodeURIComponent;

export function mount(root) {
  let keys = [];
  let current = null; // {key, entries, revision}
  let editing = null; // {op builder, index} while the panel is open

  const keyList = el('ul', { class: 'key-list', 'data-testid': 'keys' });
  const head = el('div', { class: 'entries-head' });
  const tbody = el('tbody');
  const table = el('table', { class: 'table', 'data-testid': 'entries' },
    el('thead', {}, el('tr', {}, ['Path', 'Topic', 'Settings', ''].map((h) => el('th', {}, h)))), tbody);
  const emptyNote = el('div', { class: 'notice', hidden: true });
  const panel = el('aside', { class: 'panel editor', hidden: true, 'data-closable': true, 'aria-label': 'Entry editor', 'data-testid': 'editor' });
  panel.addEventListener('close', closePanel);
  root.append(
    el('div', { class: 'toolbar' }, el('h2', { class: 'page-title' }, 'Collect entries'), el('div', { class: 'spacer' }),
      el('span', { class: 'muted' }, 'Which files each agent reads, stored in etcd; a change applies within a second.')),
    el('div', { class: 'entries-body' },
      el('aside', { class: 'sidebar' }, el('h3', { class: 'sidebar-title' }, 'Keys'), keyList),
      el('section', { class: 'entries-main' }, head, emptyNote, el('div', { class: 'card table-card' }, table)),
      panel));

  async function load(wanted) {
    try {
      const res = await apiGet('/api/entries');
      keys = res.keys ?? [];
    } catch (e) {
      emptyNote.hidden = false;
      emptyNote.textContent = `Could not load the entries: ${e.message}`;
      return;
    }
    const name = wanted || keys[0]?.key;
    current = keys.find((k) => k.key === name) ?? (name ? { key: name, entries: [], revision: 0 } : null);
    render();
  }

  function setCurrent(value) {
    current = { key: value.key ?? current.key, entries: value.entries ?? [], revision: value.revision ?? 0, error: value.error, raw: value.raw };
    const i = keys.findIndex((k) => k.key === current.key);
    if (i >= 0) keys[i] = current;
    render();
  }

  function render() {
    keyList.replaceChildren(...keys.map((k) => el('li', {}, el('a', {
      href: `/entries?key=${enc(k.key)}`, 'data-link': true, class: k.key === current?.key ? 'active' : '', dataset: { key: k.key },
    }, el('span', { class: 'mono' }, k.key),
    el('span', { class: 'muted' }, k.revision ? `${k.entries.length} ${k.entries.length === 1 ? 'entry' : 'entries'}` : 'not set')))));
    if (!current) {
      head.replaceChildren();
      emptyNote.hidden = false;
      emptyNote.textContent = 'The agent reads no collect keys.';
      tbody.replaceChildren();
      return;
    }
    head.replaceChildren(
      el('h3', { class: 'mono' }, current.key),
      el('span', { class: 'muted', 'data-testid': 'revision' }, current.revision ? `revision ${current.revision}` : 'not set in etcd yet'),
      el('div', { class: 'spacer' }),
      el('button', { type: 'button', class: 'btn', 'data-testid': 'edit-json', onclick: () => openJSON() }, 'Edit as JSON'),
      el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'add-entry', onclick: () => openForm(null) }, '+ Add entry'));
    emptyNote.hidden = current.entries.length > 0 && !current.error;
    emptyNote.replaceChildren(current.error
      ? el('span', {}, el('strong', {}, 'The stored value is invalid, so the agent ignores it: '), current.error,
        current.raw ? el('pre', { class: 'json' }, current.raw) : null, 'Saving entries here replaces it.')
      : 'No entries under this key. Add one to start collecting a file.');
    tbody.replaceChildren(...current.entries.map((e) => el('tr', { dataset: { path: e.path } },
      el('td', { class: 'mono' }, e.path),
      el('td', {}, el('span', { class: 'tag' }, e.topic)),
      el('td', {}, summary(e).map((s) => el('span', { class: 'chip' }, s))),
      el('td', { class: 'row-actions' },
        el('button', { type: 'button', class: 'btn btn-small', onclick: () => openForm(e) }, 'Edit'),
        removeButton(e)))));
  }

  function removeButton(e) {
    const b = el('button', { type: 'button', class: 'btn btn-small btn-danger-quiet' }, 'Remove');
    b.addEventListener('click', () => {
      if (b.dataset.armed) {
        save({ kind: 'remove', path: e.path });
        return;
      }
      b.dataset.armed = '1';
      b.textContent = 'Confirm remove';
      b.classList.add('btn-danger');
    });
    b.addEventListener('blur', () => {
      delete b.dataset.armed;
      b.textContent = 'Remove';
      b.classList.remove('btn-danger');
    });
    return b;
  }

  // --- the editor panel
  function closePanel() {
    panel.hidden = true;
    editing = null;
  }

  function panelShell(title, content) {
    panel.replaceChildren(panelHeader(title, { onClose: closePanel }), el('div', { class: 'panel-body' }, content));
    panel.hidden = false;
  }

  function field(name, label, input, hint) {
    input.name = name;
    input.id = `f-${name}`;
    return el('div', { class: 'form-field', dataset: { field: name } },
      el('label', { for: input.id }, label), input,
      hint ? el('div', { class: 'hint' }, hint) : null,
      el('div', { class: 'field-error', role: 'alert' }));
  }

  function openForm(entry) {
    const v = entryToForm(entry ?? {});
    const text = (name, ph = '') => { const i = el('input', { type: 'text', class: 'input', placeholder: ph, spellcheck: 'false' }); i.value = v[name]; return i; };
    const area = (name, ph = '') => { const i = el('textarea', { class: 'input', rows: '2', placeholder: ph, spellcheck: 'false' }); i.value = v[name]; return i; };
    const check = (name) => { const i = el('input', { type: 'checkbox' }); i.checked = v[name]; return i; };
    const select = (name, opts) => { const i = el('select', { class: 'input select' }, opts.map(([val, label]) => el('option', { value: val }, label))); i.value = v[name]; return i; };
    const topError = el('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'form-error' });
    const conflict = el('div', { class: 'conflict', hidden: true, 'data-testid': 'conflict' });
    const form = el('form', { class: 'form', novalidate: true },
      topError, conflict,
      field('path', 'Path (a file or a glob)', text('path', '/var/log/app/*.log'), 'Absolute; * and ? match within a directory.'),
      field('topic', 'Topic', text('topic', 'app_log'), 'Where the lines go: the topic a search can filter by.'),
      field('start', 'Start reading existing files at', select('start', [['', 'the end (default)'], ['end', 'the end'], ['beginning', 'the beginning']])),
      field('exclude', 'Exclude files (globs, one a line)', area('exclude', '*.gz')),
      field('include_lines', 'Keep only lines matching (regexps, one a line)', area('include_lines', 'ERROR')),
      field('exclude_lines', 'Drop lines matching (regexps, one a line)', area('exclude_lines', '^DEBUG')),
      field('fields', 'Fields added to each line (name=value, one a line)', area('fields', 'service=checkout')),
      el('details', { class: 'more', open: Boolean(v['multiline.pattern'] || v.max_line_bytes || v.keep_empty) },
        el('summary', {}, 'Multiline and limits'),
        field('multiline.pattern', 'Multiline pattern (regexp)', text('multiline.pattern', '^\\s'), 'Lines matching it join the previous line (match: after).'),
        el('div', { class: 'form-row' },
          field('multiline.match', 'Match', select('multiline.match', [['', 'after (default)'], ['after', 'after'], ['before', 'before']])),
          field('multiline.negate', 'Negate', check('multiline.negate')),
          field('multiline.max_lines', 'Max lines', text('multiline.max_lines', '500')),
          field('multiline.timeout', 'Timeout', text('multiline.timeout', '2s'))),
        el('div', { class: 'form-row' },
          field('max_line_bytes', 'Max line bytes', text('max_line_bytes', '1048576')),
          field('keep_empty', 'Keep empty lines', check('keep_empty')))),
      el('div', { class: 'form-actions' },
        el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save' }, entry ? 'Save entry' : 'Add entry'),
        el('button', { type: 'button', class: 'btn', onclick: closePanel }, 'Cancel')));
    const values = () => {
      const out = {};
      for (const i of form.querySelectorAll('input, select, textarea')) out[i.name] = i.type === 'checkbox' ? i.checked : i.value;
      return out;
    };
    const makeOp = () => {
      const e = formToEntry(values());
      return entry ? { kind: 'edit', path: entry.path, entry: e } : { kind: 'add', entry: e };
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      save(makeOp());
    });
    editing = { form, topError, conflict };
    panelShell(entry ? `Edit entry` : `Add an entry to ${current.key}`, form);
    form.querySelector('[name=path]').focus();
  }

  function openJSON() {
    const ta = el('textarea', { class: 'input json-input', rows: '18', spellcheck: 'false', name: 'json', 'data-testid': 'json' });
    ta.value = JSON.stringify(current.entries, null, 2);
    const topError = el('div', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'form-error' });
    const conflict = el('div', { class: 'conflict', hidden: true, 'data-testid': 'conflict' });
    const form = el('form', { class: 'form' }, topError, conflict,
      el('p', { class: 'muted' }, 'The key\'s value: a JSON array of entries, as stored in etcd.'), ta,
      el('div', { class: 'form-actions' },
        el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save' }, 'Save'),
        el('button', { type: 'button', class: 'btn', onclick: closePanel }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      let entries;
      try {
        entries = JSON.parse(ta.value);
        if (!Array.isArray(entries)) throw new Error('the value must be a JSON array of entries');
      } catch (e) {
        showTopError(editing, `JSON: ${e.message}`);
        return;
      }
      save({ kind: 'replace', entries });
    });
    editing = { form, topError, conflict };
    panelShell(`${current.key} as JSON`, form);
    ta.focus();
  }

  function showTopError(ed, msg, param) {
    const text = param && msg.startsWith(`${param}: `) ? msg.slice(param.length + 2) : msg;
    ed.topError.replaceChildren(param ? el('code', {}, `${param}: `) : '', text);
    ed.topError.hidden = false;
  }

  function clearErrors(ed) {
    if (!ed) return;
    ed.topError.hidden = true;
    ed.conflict.hidden = true;
    for (const f of ed.form.querySelectorAll('.form-field')) {
      f.classList.remove('invalid');
      f.querySelector('.field-error').textContent = '';
    }
  }

  // save applies op to the value as last read and PUTs it with that revision.
  async function save(op, base = current) {
    const { entries, index } = applyOp(base.entries, op);
    const ed = editing;
    clearErrors(ed);
    try {
      const res = await apiPut(`/api/entries/${enc(base.key)}`, { entries, revision: base.revision });
      setCurrent(res);
      closePanel();
      toast(`Saved ${current.key} (revision ${current.revision})`);
    } catch (e) {
      if (e.status === 409 && e.body?.current) {
        setCurrent({ key: base.key, ...e.body.current });
        showConflict(op, e);
        return;
      }
      if (!ed) {
        toast(e.message, 'error');
        return;
      }
      const name = errorField(e.param, index);
      const f = name && ed.form.querySelector(`.form-field[data-field="${CSS.escape(name)}"]`);
      if (f) {
        f.classList.add('invalid');
        // The field shows where; its message need not repeat the param.
        f.querySelector('.field-error').textContent = e.message.startsWith(`${e.param}: `) ? e.message.slice(e.param.length + 2) : e.message;
        f.querySelector('input, select, textarea')?.focus();
      } else {
        showTopError(ed, e.message, e.param);
      }
    }
  }

  function showConflict(op, err) {
    if (!editing) {
      // A remove from the table: show the conflict in the panel.
      const conflict = el('div', { class: 'conflict', 'data-testid': 'conflict' });
      const form = el('form', { class: 'form' }, conflict);
      editing = { form, topError: el('div', { hidden: true }), conflict };
      panelShell('Not saved', form);
    }
    const mine = applyOp(current.entries, op).entries;
    const c = editing.conflict;
    c.replaceChildren(
      el('strong', {}, 'Someone else saved this key first. '),
      el('span', {}, `${err.message}. Your change was not saved; the key now holds revision ${current.revision}:`),
      el('pre', { class: 'json', 'data-testid': 'conflict-current' }, JSON.stringify(current.entries, null, 2)),
      el('div', { class: 'form-actions' },
        el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'apply-mine', title: JSON.stringify(mine, null, 2),
          onclick: () => save(op, current) }, 'Apply my change to this version'),
        el('button', { type: 'button', class: 'btn', onclick: closePanel }, 'Discard my change')));
    c.hidden = false;
    c.scrollIntoView({ block: 'nearest' });
  }

  return {
    update(params) {
      closePanel();
      load(params.get('key') ?? '');
    },
    unmount() {},
  };
}
