// A server-sent events client over fetch, for the live tail. Unlike EventSource it tells a
// bad query (a 400 with a JSON error: stop and show it) from a dropped connection (reconnect
// with backoff), and it resumes with Last-Event-ID after any drop, so that no line is lost or
// shown twice. A watchdog reconnects when the server's 15 s pings stop arriving.

import { UNAUTHORIZED, tokenChallenge } from './signin.js';

// createParser returns feed(text): it splits the event-stream format into events and calls
// onEvent({event, data, id}) for each complete one, onRetry(ms) for a retry field.
export function createParser(onEvent, onRetry = () => {}) {
  let buf = '';
  let event = '';
  let data = [];
  let id = null;
  function line(l) {
    if (l === '') {
      if (data.length) onEvent({ event: event || 'message', data: data.join('\n'), id });
      event = '';
      data = [];
      id = null;
      return;
    }
    if (l.startsWith(':')) return; // a comment, such as the server's ping
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
  }
  return function feed(text) {
    buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break;
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  };
}

// backoffDelay is the wait before reconnect attempt n (0-based): doubling from initial, capped.
export function backoffDelay(attempt, initialMs, maxMs) {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
}

// TailStream keeps one stream open until stop(). Callbacks:
//   onEvent({event, data, id})          every event (the tail sends `hit`)
//   onState(state, detail)              'connecting' | 'open' | 'reconnecting' (detail: ms) |
//                                       'error' (detail: message; final) | 'closed'
export class TailStream {
  constructor({ url, onEvent, onState = () => {}, fetch = globalThis.fetch.bind(globalThis),
    initialBackoffMs = 1000, maxBackoffMs = 15000, idleTimeoutMs = 45000, lastEventId = null }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.fetch = fetch;
    this.initialBackoffMs = initialBackoffMs;
    this.maxBackoffMs = maxBackoffMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.lastEventId = lastEventId;
    this.attempt = 0;
    this.stopped = false;
    this.abort = null;
    this.timer = null;
    this.retryMs = null;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.onState('closed');
  }

  async connect() {
    if (this.stopped) return;
    this.onState('connecting');
    const abort = new AbortController();
    this.abort = abort;
    let watchdog = null;
    const kick = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(new Error('no data from the server')), this.idleTimeoutMs);
    };
    try {
      const headers = { Accept: 'text/event-stream' };
      if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
      kick();
      const res = await this.fetch(this.url, { headers, signal: abort.signal, cache: 'no-store' });
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        clearTimeout(watchdog);
        if (tokenChallenge(res)) globalThis.dispatchEvent?.(new CustomEvent(UNAUTHORIZED));
        const { message, param } = await errorBody(res);
        if (param === 'Last-Event-ID' && this.lastEventId) {
          // The resume point is unknown to the server (past retention, another store): go
          // on from now rather than stop.
          this.lastEventId = null;
          throw new Error(message);
        }
        this.stopped = true;
        this.onState('error', message);
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      this.attempt = 0;
      this.onState('open');
      const feed = createParser((ev) => {
        if (ev.id !== null) this.lastEventId = ev.id;
        this.onEvent(ev);
      }, (ms) => { this.retryMs = ms; });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        kick();
        const { value, done } = await reader.read();
        if (done) break;
        feed(value);
      }
    } catch (err) {
      if (this.stopped) return;
      void err; // a dropped connection: reconnect below
    } finally {
      clearTimeout(watchdog);
    }
    if (this.stopped) return;
    const delay = this.retryMs ?? backoffDelay(this.attempt, this.initialBackoffMs, this.maxBackoffMs);
    this.attempt++;
    this.onState('reconnecting', delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

async function errorBody(res) {
  try {
    const body = await res.json();
    if (body && body.error) return { message: body.error, param: body.param ?? '' };
  } catch {
    // not JSON: fall through
  }
  return { message: `HTTP ${res.status}`, param: '' };
}
