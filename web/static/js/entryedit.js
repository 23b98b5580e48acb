// The logic of the entries editor, apart from the DOM: an edit is an operation (add, edit,
// remove, replace) applied to a key's entries, so that after a conflict the same change can
// be applied again to the value someone else saved. An entry is identified by its path, as
// the agent identifies it.

// applyOp returns the new entries and the index of the entry the operation wrote (-1 when
// none, as for remove).
export function applyOp(entries, op) {
  const list = (entries ?? []).slice();
  switch (op.kind) {
    case 'add': {
      const i = list.findIndex((e) => e.path === op.entry.path);
      if (i >= 0) {
        list[i] = op.entry;
        return { entries: list, index: i };
      }
      list.push(op.entry);
      return { entries: list, index: list.length - 1 };
    }
    case 'edit': {
      const i = list.findIndex((e) => e.path === op.path);
      if (i < 0) {
        list.push(op.entry);
        return { entries: list, index: list.length - 1 };
      }
      list[i] = op.entry;
      // An edit that renamed the path onto another entry's path: the edited one wins.
      const dup = list.findIndex((e, j) => j !== i && e.path === op.entry.path);
      if (dup >= 0) {
        list.splice(dup, 1);
        return { entries: list, index: dup < i ? i - 1 : i };
      }
      return { entries: list, index: i };
    }
    case 'remove':
      return { entries: list.filter((e) => e.path !== op.path), index: -1 };
    case 'replace':
      return { entries: op.entries.slice(), index: -1 };
    default:
      throw new Error(`unknown edit ${op.kind}`);
  }
}

const lines = (s) => String(s ?? '').split('\n').map((l) => l.trim()).filter(Boolean);

// formToEntry builds an entry from the form's values (strings and booleans), leaving out
// optional settings that are empty so the stored JSON stays as small as what a person writes.
export function formToEntry(v) {
  const e = { path: (v.path ?? '').trim(), topic: (v.topic ?? '').trim() };
  if (v.start) e.start = v.start;
  const exclude = lines(v.exclude);
  if (exclude.length) e.exclude = exclude;
  const inc = lines(v.include_lines);
  if (inc.length) e.include_lines = inc;
  const exc = lines(v.exclude_lines);
  if (exc.length) e.exclude_lines = exc;
  const fields = {};
  for (const l of lines(v.fields)) {
    const i = l.indexOf('=');
    if (i > 0) fields[l.slice(0, i).trim()] = l.slice(i + 1).trim();
    else fields[l] = '';
  }
  if (Object.keys(fields).length) e.fields = fields;
  if (String(v.max_line_bytes ?? '').trim() !== '') e.max_line_bytes = Number(v.max_line_bytes);
  if (v.keep_empty) e.keep_empty = true;
  if ((v['multiline.pattern'] ?? '') !== '') {
    const m = { pattern: v['multiline.pattern'] };
    if (v['multiline.negate']) m.negate = true;
    if (v['multiline.match']) m.match = v['multiline.match'];
    if (String(v['multiline.max_lines'] ?? '').trim() !== '') m.max_lines = Number(v['multiline.max_lines']);
    if ((v['multiline.timeout'] ?? '').trim() !== '') m.timeout = v['multiline.timeout'].trim();
    e.multiline = m;
  }
  return e;
}

// entryToForm is the inverse: the form's values for an entry.
export function entryToForm(e = {}) {
  const m = e.multiline ?? {};
  return {
    path: e.path ?? '',
    topic: e.topic ?? '',
    start: e.start ?? '',
    exclude: (e.exclude ?? []).join('\n'),
    include_lines: (e.include_lines ?? []).join('\n'),
    exclude_lines: (e.exclude_lines ?? []).join('\n'),
    fields: Object.entries(e.fields ?? {}).map(([k, v]) => `${k}=${v}`).join('\n'),
    max_line_bytes: e.max_line_bytes ? String(e.max_line_bytes) : '',
    keep_empty: Boolean(e.keep_empty),
    'multiline.pattern': m.pattern ?? '',
    'multiline.negate': Boolean(m.negate),
    'multiline.match': m.match ?? '',
    'multiline.max_lines': m.max_lines ? String(m.max_lines) : '',
    'multiline.timeout': m.timeout ?? '',
  };
}

// errorField maps a validation error's param ("entries[2].multiline.pattern") to the form
// field it names ("multiline.pattern") when it is about the entry at index; otherwise null.
export function errorField(param, index) {
  const m = /^entries\[(\d+)\](?:\.(.+))?$/.exec(param ?? '');
  if (!m || Number(m[1]) !== index) return null;
  let field = (m[2] ?? 'path').replace(/\[\d+\]$/, ''); // a list item belongs to the list
  if (field.startsWith('fields.')) field = 'fields';
  if (field === 'multiline') field = 'multiline.pattern';
  return field;
}

// summary lists an entry's optional settings in a few words, for the table.
export function summary(e) {
  const out = [];
  if (e.start) out.push(`start ${e.start}`);
  if (e.exclude?.length) out.push(`exclude ${e.exclude.join(', ')}`);
  if (e.multiline) out.push(`multiline ${e.multiline.pattern}`);
  if (e.include_lines?.length) out.push(`include ${e.include_lines.length} pattern${e.include_lines.length > 1 ? 's' : ''}`);
  if (e.exclude_lines?.length) out.push(`drop ${e.exclude_lines.length} pattern${e.exclude_lines.length > 1 ? 's' : ''}`);
  for (const [k, v] of Object.entries(e.fields ?? {})) out.push(`${k}=${v}`);
  if (e.max_line_bytes) out.push(`max ${e.max_line_bytes} B/line`);
  if (e.keep_empty) out.push('keep empty lines');
  return out;
}
