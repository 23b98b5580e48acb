import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { TailStream, backoffDelay, createParser } from '../static/js/sse.js';

test('parser: events, ids, comments, multi-line data, any line ending, split chunks', () => {
  const got = [];
  const retries = [];
  const feed = createParser((e) => got.push(e), (ms) => retries.push(ms));
  const stream = ': ping\n\nevent: hit\nid: 1\ndata: {"a":1}\n\r\nevent: hit\r\nid: 2\r\ndata: x\r\ndata: y\r\n\r\nretry: 3000\nid: 3\ndata:nospace\r\r\n';
  // Feed one character at a time: chunk boundaries fall everywhere, \r\n split in two too.
  for (const ch of stream) feed(ch);
  assert.deepEqual(got, [
    { event: 'hit', data: '{"a":1}', id: '1' },
    { event: 'hit', data: 'x\ny', id: '2' },
    { event: 'message', data: 'nospace', id: '3' },
  ]);
  assert.deepEqual(retries, [3000]);
});

test('parser: an event without data is not dispatched', () => {
  const got = [];
  const feed = createParser((e) => got.push(e));
  feed('event: hit\nid: 9\n\n');
  assert.deepEqual(got, []);
});

test('backoff doubles and is capped', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1000, 15000)), [1000, 2000, 4000, 8000, 15000, 15000]);
});

// serve starts a real HTTP server whose handler is given each request in turn.
async function serve(handlers) {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    const h = handlers[Math.min(seen.length - 1, handlers.length - 1)];
    h(req, res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/api/tail?q=x`, seen, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

function sse(res, events, end) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  for (const [id, data] of events) res.write(`event: hit\nid: ${id}\ndata: ${data}\n\n`);
  if (end) res.end();
}

// waitFor resolves when cond() holds, checked on every state or event callback.
function collector() {
  const events = [];
  const states = [];
  let waiters = [];
  const poke = () => { waiters = waiters.filter((w) => !(w.cond() && (w.resolve(), true))); };
  return {
    events, states,
    onEvent: (e) => { events.push(e); poke(); },
    onState: (s, d) => { states.push([s, d]); poke(); },
    until(cond, ms = 5000) {
      return new Promise((resolve, reject) => {
        if (cond()) return resolve();
        const t = setTimeout(() => reject(new Error(`timed out; states ${JSON.stringify(states)}`)), ms);
        waiters.push({ cond, resolve: () => { clearTimeout(t); resolve(); } });
      });
    },
  };
}

test('reconnects after a drop and resumes with Last-Event-ID', async () => {
  const srv = await serve([
    (req, res) => sse(res, [['a1', '1'], ['a2', '2']], true), // drops after two lines
    (req, res) => sse(res, [['a3', '3']], false),
  ]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState, initialBackoffMs: 10 }).start();
  try {
    await c.until(() => c.events.length === 3);
    assert.deepEqual(c.events.map((e) => e.data), ['1', '2', '3']);
    assert.equal(srv.seen[0].headers['last-event-id'], undefined);
    assert.equal(srv.seen[1].headers['last-event-id'], 'a2');
    assert.ok(c.states.some(([st]) => st === 'reconnecting'), 'reported reconnecting');
    assert.equal(s.lastEventId, 'a3');
  } finally {
    s.stop();
    await srv.close();
  }
});

test('a 400 stops with the server message and does not retry', async () => {
  const srv = await serve([(req, res) => {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: 'q: position 3: unbalanced quote', param: 'q' }));
  }]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState, initialBackoffMs: 10 }).start();
  try {
    await c.until(() => c.states.some(([st]) => st === 'error'));
    assert.deepEqual(c.states.at(-1), ['error', 'q: position 3: unbalanced quote']);
    assert.equal(srv.seen.length, 1);
  } finally {
    s.stop();
    await srv.close();
  }
});

test('a 5xx is retried with backoff', async () => {
  const srv = await serve([
    (req, res) => { res.writeHead(503); res.end('busy'); },
    (req, res) => sse(res, [['b1', 'ok']], false),
  ]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState, initialBackoffMs: 10 }).start();
  try {
    await c.until(() => c.events.length === 1);
    assert.equal(c.events[0].data, 'ok');
    assert.deepEqual(c.states.filter(([st]) => st === 'reconnecting'), [['reconnecting', 10]]);
  } finally {
    s.stop();
    await srv.close();
  }
});

test('a resume token the server rejects: go on from now instead of stopping', async () => {
  const srv = await serve([
    (req, res) => sse(res, [['old', '1']], true),
    (req, res) => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'Last-Event-ID: unknown position', param: 'Last-Event-ID' }));
    },
    (req, res) => sse(res, [['new', '2']], false),
  ]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState, initialBackoffMs: 10 }).start();
  try {
    await c.until(() => c.events.length === 2);
    assert.equal(srv.seen[1].headers['last-event-id'], 'old');
    assert.equal(srv.seen[2].headers['last-event-id'], undefined);
    assert.ok(!c.states.some(([st]) => st === 'error'));
  } finally {
    s.stop();
    await srv.close();
  }
});

test('the watchdog reconnects a stream that went silent', async () => {
  const srv = await serve([
    (req, res) => sse(res, [['c1', '1']], false), // stays open, sends nothing more
    (req, res) => sse(res, [['c2', '2']], false),
  ]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState, initialBackoffMs: 10, idleTimeoutMs: 200 }).start();
  try {
    await c.until(() => c.events.length === 2);
    assert.equal(srv.seen[1].headers['last-event-id'], 'c1');
  } finally {
    s.stop();
    await srv.close();
  }
});

test('stop ends the stream and reports closed', async () => {
  const srv = await serve([(req, res) => sse(res, [['d1', '1']], false)]);
  const c = collector();
  const s = new TailStream({ url: srv.url, onEvent: c.onEvent, onState: c.onState }).start();
  try {
    await c.until(() => c.events.length === 1);
    s.stop();
    assert.equal(c.states.at(-1)[0], 'closed');
  } finally {
    await srv.close();
  }
});
