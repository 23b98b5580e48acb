// The UI's shell: routes the URL's path to a page module, keeps the nav in step, and handles
// the global keys (`/` focuses the page's search box, Esc closes the open panel). Each page
// module exports mount(root, ctx) → {update(params), unmount()}; a page changes its state
// only through ctx.navigate, so every state is a URL and the back button walks through them.

import * as search from './pages/search.js';
import * as tail from './pages/tail.js';
import * as hosts from './pages/hosts.js';
import * as agents from './pages/agents.js';
import * as entries from './pages/entries.js';

// Keep in step with isPage in web.go.
const PAGES = { search, tail, hosts, agents, entries };

const root = document.getElementById('page');
let current = null; // {name, page}

function pageName(pathname) {
  const name = pathname.replace(/^\/+|\/+$/g, '') || 'search';
  return PAGES[name] ? name : 'search';
}

function navigate(path, params, { replace = false } = {}) {
  const qs = params && [...params].length ? `?${params}` : '';
  const url = `${path}${qs}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

function route() {
  const name = pageName(location.pathname);
  const params = new URLSearchParams(location.search);
  document.querySelectorAll('nav.tabs a').forEach((a) => {
    a.classList.toggle('active', a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  if (current?.name === name) {
    current.page.update(params);
    return;
  }
  current?.page.unmount();
  root.replaceChildren();
  root.className = `page page-${name}`;
  const page = PAGES[name].mount(root, { navigate, carry });
  current = { name, page };
  page.update(params);
}

// carry is the query a link to another page takes along (search ↔ tail keep the query).
function carry() {
  const p = new URLSearchParams(location.search);
  const q = p.get('q');
  return q ? new URLSearchParams({ q }) : new URLSearchParams();
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  const url = new URL(a.href);
  const target = pageName(url.pathname);
  // Search and tail share the query: switching between them keeps it.
  const keepQuery = (target === 'tail' || target === 'search') && url.search === '';
  navigate(url.pathname, keepQuery ? carry() : url.searchParams);
});

window.addEventListener('popstate', route);

document.addEventListener('keydown', (ev) => {
  const t = ev.target;
  const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  if (ev.key === '/' && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    const box = root.querySelector('[data-search-box]');
    if (box) {
      ev.preventDefault();
      box.focus();
      box.select?.();
    }
  } else if (ev.key === 'Escape') {
    // The innermost open thing closes first: a popover, then a panel.
    const open = [...document.querySelectorAll('[data-closable]')].filter((e) => !e.hidden);
    const last = open[open.length - 1];
    if (last) {
      ev.preventDefault();
      last.dispatchEvent(new CustomEvent('close'));
    } else if (typing) {
      t.blur();
    }
  }
});

route();
