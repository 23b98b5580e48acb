// The UI's shell: builds the nav and the routes from pages.json, routes the URL's path to a
// page module, keeps the nav in step, and handles the global keys (`/` focuses the page's
// search box, Esc closes the open panel). Each page module exports
// mount(root, ctx) → {update(params), unmount()}; a page changes its state only through
// ctx.navigate, so every state is a URL and the back button walks through them.
//
// pages.json is the one list of pages, [{name, title}], the first the home page: page
// `name` is the module ./pages/<name>.js at the path /<name>, and web.go serves index.html
// at each of those paths (web_test.go checks that they agree).

import { el } from './format.js';
import { UNAUTHORIZED, showSignIn, signInFromFragment } from './signin.js';

const root = document.getElementById('page');
// The printed URL carries the token in its fragment: exchange it for the session cookie
// before any page calls the API.
const signInError = await signInFromFragment();

// loadPages reads pages.json and imports every page's module: name → {name, title, module},
// in the list's order. When that fails, the page says so.
async function loadPages() {
  try {
    const res = await fetch(new URL('./pages.json', import.meta.url));
    if (!res.ok) throw new Error(`pages.json: HTTP ${res.status}`);
    const list = await res.json();
    const loaded = await Promise.all(list.map(async (p) => ({ ...p, module: await import(`./pages/${p.name}.js`) })));
    return new Map(loaded.map((p) => [p.name, p]));
  } catch (e) {
    root.textContent = `Could not load the UI (${e.message}); reload the page to try again.`;
    throw e;
  }
}

const pages = await loadPages();
const home = pages.keys().next().value; // the first page: the one at /
let current = null; // {name, page}

function pageName(pathname) {
  const name = pathname.replace(/^\/+|\/+$/g, '');
  return pages.has(name) ? name : home;
}

function renderNav() {
  document.querySelector('nav.tabs').replaceChildren(...[...pages.values()].map((p) =>
    el('a', { href: `/${p.name}`, 'data-link': true, dataset: { page: p.name } }, p.title)));
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
  const page = pages.get(name).module.mount(root, { navigate, carry });
  current = { name, page };
  page.update(params);
}

// carry is the query a link to another page takes along (search ↔ tail keep the query).
function carry() {
  const p = new URLSearchParams(location.search);
  const q = p.get('q');
  return q ? new URLSearchParams({ q }) : new URLSearchParams();
}

function onClick(ev) {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  const url = new URL(a.href);
  const target = pageName(url.pathname);
  // Search and tail share the query: switching between them keeps it.
  const keepQuery = (target === 'tail' || target === 'search') && url.search === '';
  navigate(url.pathname, keepQuery ? carry() : url.searchParams);
}

function onKey(ev) {
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
}

// signIn shows the token form instead of the page (an API call answered 401).
function signIn(message = '') {
  if (root.classList.contains('page-signin')) return;
  current?.page.unmount();
  current = null;
  showSignIn(root, message);
}

renderNav();
window.addEventListener(UNAUTHORIZED, () => signIn());
document.addEventListener('click', onClick);
document.addEventListener('keydown', onKey);
window.addEventListener('popstate', route);
if (signInError) signIn(signInError);
else route();
