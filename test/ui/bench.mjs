// UI bench (not part of make test): a real standalone with UI_BENCH_LINES stored lines and
// headless chromium measure what a user feels —
//   - Enter → first screen of results painted, per kind of query, and how much of it is the
//     server (took_ms) versus network + rendering;
//   - loading 10,000 results through the cursor and scrolling through them: the virtual
//     list's work per scroll frame, and frame intervals beside an idle page's in the same run.
//
//   node test/ui/bench.mjs          (after make build; see web/README.md)
//   UI_BENCH_LINES=1000000 node test/ui/bench.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLines, launchBrowser, startStandalone, until } from './harness.mjs';

const LINES = Number(process.env.UI_BENCH_LINES || 200_000);
const RUNS = Number(process.env.UI_BENCH_RUNS || 15);
const run = Math.random().toString(36).slice(2, 8);
const COMMON = `served${run}`;
const RARE = `needle${run}`;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
const ms = (v) => `${v.toFixed(1)}`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'logcollect-uibench-'));
const logDir = path.join(tmp, 'logs');
fs.mkdirSync(logDir);
const standalone = await startStandalone(tmp, logDir, 'bench-standalone.log');
const { base } = standalone;
let context;
try {
  const t0 = Date.now();
  const file = path.join(logDir, 'bench.log');
  const chunk = 50_000;
  for (let i = 0; i < LINES; i += chunk) {
    // Stamped with the second they are written: the agent takes a line's timestamp as its
    // event time, which the searches below (the last hour) range over.
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    appendLines(file, Array.from({ length: Math.min(chunk, LINES - i) }, (_, j) => {
      const n = i + j;
      return `${stamp} INFO GET /api/item/${n} status=200 ms=${n % 97} ${COMMON}${n % 10_000 === 5 ? ` ${RARE}` : ''}`;
    }));
  }
  await until(`${LINES} lines stored`, async () => {
    const r = await (await standalone.fetch(`/api/search?q=${COMMON}&from=now-1h&limit=1`)).json();
    return r.total >= LINES;
  }, 600_000, 500);
  const ingestS = (Date.now() - t0) / 1000;

  context = await launchBrowser(tmp);
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(standalone.openURL); // signs in, as a person opening the printed URL
  await page.locator('[data-testid=results]').waitFor();
  await page.goto(`${base}/search?from=now-1h`);
  await page.locator('[data-testid=results] .hit').first().waitFor({ timeout: 60_000 });
  const host = (await (await standalone.fetch('/api/hosts')).json()).hosts[0].host;

  const kinds = [
    ['every line (empty query)', ''],
    ['common word (every line)', COMMON],
    ['rare word (1 in 10,000)', RARE],
    ['host: + common word', `host:${host} ${COMMON}`],
    ['phrase', `"status 200"`],
  ];
  const rows = [];
  for (const [label, q] of kinds) {
    const total = [];
    const server = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await page.evaluate((query) => new Promise((resolve) => {
        const box = document.querySelector('[data-search-box]');
        box.value = query;
        const start = performance.now();
        document.addEventListener('lc:results', (e) => resolve({ ms: performance.now() - start, took: e.detail.tookMs }), { once: true });
        box.form.requestSubmit();
      }), q);
      total.push(r.ms);
      server.push(r.took);
    }
    rows.push([label, total, server]);
  }

  // 10,000 results through the cursor, then a scroll through all of them.
  await page.evaluate((q) => new Promise((resolve) => {
    const box = document.querySelector('[data-search-box]');
    box.value = q;
    document.addEventListener('lc:results', resolve, { once: true });
    box.form.requestSubmit();
  }), COMMON);
  const list = page.locator('[data-testid=results]');
  const pageTimes = [];
  for (;;) {
    const have = Number(await list.getAttribute('data-count'));
    if (have >= 10_000) break;
    const start = Date.now();
    const answered = page.waitForResponse((r) => r.url().includes('cursor='));
    await list.evaluate((e) => { e.scrollTop = e.scrollHeight; });
    await answered;
    await until('the next page listed', async () => Number(await list.getAttribute('data-count')) >= have + 200, 30_000, 10);
    pageTimes.push(Date.now() - start);
  }
  const scroll = await page.evaluate(async () => {
    const frames = (n) => new Promise((done) => {
      const f = [];
      let last = performance.now();
      const step = (now) => {
        f.push(now - last);
        last = now;
        if (f.length < n) requestAnimationFrame(step);
        else done(f);
      };
      requestAnimationFrame(step);
    });
    const idle = await frames(120);
    const { VirtualList } = await import('/js/virtuallist.js');
    const orig = VirtualList.prototype.update;
    const work = [];
    VirtualList.prototype.update = function update() {
      const t = performance.now();
      orig.call(this);
      work.push(performance.now() - t);
    };
    const l = document.querySelector('[data-testid=results]');
    l.scrollTop = 0;
    const f = [];
    let last = performance.now();
    await new Promise((done) => {
      const step = (now) => {
        f.push(now - last);
        last = now;
        l.scrollTop += l.clientHeight; // one screen a frame
        if (l.scrollTop + l.clientHeight >= l.scrollHeight - 2) return done();
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    VirtualList.prototype.update = orig;
    return { idle, f, work, rows: Number(l.dataset.count), dom: l.querySelectorAll('.hit').length };
  });

  const out = [];
  out.push(`UI bench: ${LINES.toLocaleString('en-US')} stored lines (stored in ${ingestS.toFixed(1)} s), ${RUNS} runs per query, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}, ${new Date().toISOString()}`);
  out.push('');
  out.push('| query | Enter → painted p50 / p95 ms | server took_ms p50 / p95 | UI + network p50 ms |');
  out.push('|---|---|---|---|');
  for (const [label, total, server] of rows) {
    const overhead = total.map((t, i) => t - server[i]);
    out.push(`| ${label} | ${ms(pct(total, 0.5))} / ${ms(pct(total, 0.95))} | ${ms(pct(server, 0.5))} / ${ms(pct(server, 0.95))} | ${ms(pct(overhead, 0.5))} |`);
  }
  out.push('');
  out.push(`| 10,000 results | value |`);
  out.push('|---|---|');
  out.push(`| next page of 200 through the cursor, p50 / p95 ms | ${pct(pageTimes, 0.5)} / ${pct(pageTimes, 0.95)} |`);
  out.push(`| rows in the DOM with ${scroll.rows.toLocaleString('en-US')} loaded | ${scroll.dom} |`);
  out.push(`| virtual list work per scroll frame, p50 / p95 ms | ${ms(pct(scroll.work, 0.5))} / ${ms(pct(scroll.work, 0.95))} |`);
  out.push(`| frame interval scrolling a screen a frame, p50 / p95 ms | ${ms(pct(scroll.f, 0.5))} / ${ms(pct(scroll.f, 0.95))} |`);
  out.push(`| frame interval of the idle page (baseline, same run), p50 / p95 ms | ${ms(pct(scroll.idle, 0.5))} / ${ms(pct(scroll.idle, 0.95))} |`);
  console.log(out.join('\n'));
} finally {
  await context?.close();
  await standalone.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
}
