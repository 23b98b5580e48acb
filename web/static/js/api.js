// Calls to the standalone's HTTP API (docs/api.md). Errors come back as ApiError with the
// server's message and, when it names one, the bad parameter or field (`param`), so a page
// can show the message where the mistake is. A 401 asking for the token also tells the
// shell (signin.js), which shows the sign-in form.

import { UNAUTHORIZED, tokenChallenge } from './signin.js';

export class ApiError extends Error {
  constructor(status, message, param = '', body = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.body = body;
  }
}

// url builds /api/... with the parameters that are set (empty values left out).
export function apiURL(path, params = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const qs = p.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request(method, url, body, signal) {
  const init = { method, signal, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, `cannot reach the server: ${err.message}`);
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (tokenChallenge(res)) globalThis.dispatchEvent?.(new CustomEvent(UNAUTHORIZED));
  if (!res.ok) {
    const msg = data?.error || text.trim() || `HTTP ${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, data?.param || '', data);
  }
  return data;
}

export function apiGet(path, params, signal) {
  return request('GET', apiURL(path, params), undefined, signal);
}

export function apiPut(path, body, signal) {
  return request('PUT', path, body, signal);
}
