// Sign-in with the access token (docs/api.md, Security). The standalone prints one URL,
// http://127.0.0.1:8080/#token=…: the fragment never reaches the server or its logs; this
// module posts the token to /api/login, which answers with an HttpOnly session cookie, and
// drops the fragment from the address bar and the history. When an API call answers 401
// with a Bearer challenge (no cookie yet, or an expired one), the page is replaced by a
// form that asks for the token. Basic auth needs none of this: the browser asks itself.

import { el } from './format.js';

// UNAUTHORIZED is the window event api.js and sse.js send on a 401 that asks for a token.
export const UNAUTHORIZED = 'logcollect:unauthorized';

// tokenChallenge says whether a 401 answer asks for the token (not basic auth).
export function tokenChallenge(res) {
  return res.status === 401 && /^bearer\b/i.test(res.headers.get('WWW-Authenticate') || '');
}

async function login(token) {
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.ok) return '';
  const data = await res.json().catch(() => null);
  return res.status === 401 ? 'That token is not this server’s.' : data?.error || `HTTP ${res.status}`;
}

// signInFromFragment signs in with #token=… when the URL has one, and removes it from the
// address bar and the history whatever the outcome. It returns an error message, or ''.
export async function signInFromFragment() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const token = frag.get('token');
  if (!token) return '';
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return login(token);
}

// showSignIn replaces root's content with the token form; a good token reloads the page.
export function showSignIn(root, message = '') {
  const input = el('input', { class: 'input mono', type: 'password', id: 'signin-token', name: 'token',
    autocomplete: 'current-password', required: true, 'aria-describedby': 'signin-hint' });
  const error = el('p', { class: 'error-text', role: 'alert', 'data-signin-error': true }, message);
  const form = el('form', { class: 'card signin', 'aria-label': 'Sign in' },
    el('h1', { class: 'page-title' }, 'Sign in'),
    el('div', { class: 'form-field' },
      el('label', { for: 'signin-token' }, 'Access token'),
      input,
      el('span', { class: 'hint', id: 'signin-hint' },
        'The URL the server printed at start signs you in. Otherwise paste the token: ',
        el('code', {}, 'logcollect standalone --print-token'), ' (or http.auth.token).')),
    error,
    el('button', { class: 'btn btn-primary', type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const msg = await login(input.value.trim());
    if (msg) {
      error.textContent = msg;
      input.select();
    } else {
      location.reload();
    }
  });
  root.className = 'page page-signin';
  root.replaceChildren(form);
  input.focus();
}
