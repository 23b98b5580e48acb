// Small DOM and formatting helpers shared by the pages. Text from the server is always set
// with textContent, never parsed as HTML.

// el creates an element: el('div', {class: 'x', onclick: f}, child, 'text', ...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// segments cuts message into [{text, hit}] by the API's highlight ranges ([start, end) in
// UTF-16 code units), tolerating ranges that overlap, are unsorted or run past the end.
export function segments(message, ranges) {
  const out = [];
  const rs = (ranges ?? [])
    .map(([a, b]) => [Math.max(0, a), Math.min(message.length, b)])
    .filter(([a, b]) => a < b)
    .sort((x, y) => x[0] - y[0]);
  let pos = 0;
  for (const [a, b] of rs) {
    if (b <= pos) continue;
    const start = Math.max(a, pos);
    if (start > pos) out.push({ text: message.slice(pos, start), hit: false });
    const last = out[out.length - 1];
    if (last?.hit && start === pos) last.text += message.slice(start, b); // overlapping ranges: one mark
    else out.push({ text: message.slice(start, b), hit: true });
    pos = b;
  }
  if (pos < message.length || out.length === 0) out.push({ text: message.slice(pos), hit: false });
  return out;
}

// highlighted fills node with message, the matches in <mark>.
export function highlighted(node, message, ranges) {
  node.replaceChildren(...segments(message, ranges).map((s) => (s.hit ? el('mark', {}, s.text) : document.createTextNode(s.text))));
  return node;
}

export function formatNumber(n) {
  return Number(n).toLocaleString('en-US');
}

// formatBytes: 1536 → "1.5 KiB".
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

// copyText puts text on the clipboard; the fallback covers a browser without the async API.
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = el('textarea', { style: 'position:fixed;opacity:0' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

// toast shows a short message at the bottom of the screen.
export function toast(message, kind = 'info') {
  const t = el('div', { class: `toast toast-${kind}`, role: 'status' }, message);
  document.body.append(t);
  setTimeout(() => t.remove(), 2500);
}
