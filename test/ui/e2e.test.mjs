// End-to-end test of the web UI: a real `logcollect standalone` (temporary data dir, free
// ports) and Debian's chromium driven by playwright-core walk what a new user does: find a
// line by a word, zoom the histogram, open a hit in context, watch live tail, add an entry
// and search its file, meet a conflict, look at the hosts page. Every step leaves a
// screenshot in artifacts/ (look at them). Nothing sleeps: each step awaits an element, a
// response or an event, with a deadline.
//
// UI_BACKEND=server runs the same steps against `logcollect server` over the real services
// (scripts/services.sh): the lines go agent → Kafka → transfer → OpenSearch, the host's
// metrics sysagent → InfluxDB, the entries and agents through etcd. A step that differs
// there says why where it does.
//
//   LOGCOLLECT_BIN   the binary (default: ../../bin/logcollect, as `make build` puts it)
//   CHROMIUM         the browser (default: /usr/bin/chromium)
//   UI_BACKEND       standalone (default) or server
// (harness.mjs starts both.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARTIFACTS, appendLines, launchBrowser, startCluster, startStandalone, until } from './harness.mjs';

const STEP_TIMEOUT = 15_000; // each step's element waits; until() has the same default

// Words the index sees as one token each (letters and digits only), unique to this run.
const run = Math.random().toString(36).slice(2, 8);
const WORD = `zebra${run}`;
const TAILWORD = `otter${run}`;
const NEWWORD = `walrus${run}`;
const BULKWORD = `bison${run}`;
const BULK = 450; // more than two pages of 200
const SERVER = process.env.UI_BACKEND === 'server';
// On the server the topics and the entries' key are this run's (Kafka and etcd are shared);
// the agent's id is the sysagent's host, so the hosts page's first host has both.
const TOPIC = SERVER ? `ui${run}` : 'e2e_log';
const NEWTOPIC = SERVER ? `ui${run}new` : 'e2e_new';
const HOST = `ui-${run}`;
// Through Kafka, the transfer and the index's 1 s refresh a line is searchable about 2 s
// after it is written; the standalone's store takes well under one.
const LINE_WAIT = SERVER ? 6000 : 2000;
// The app lines' own timestamps, one a second up to about 10 s before the run: the agent takes
// them as the lines' event time, which the search's default range (the last 15 minutes)
// must hold. Whole seconds, written as the API writes them back.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 50_000;
const stamp = (i) => new Date(T0 + i * 1000).toISOString().replace('.000Z', 'Z');

let tmp;
let logDir;
let standalone;
let base;
let context;
let page;
const problems = []; // uncaught page errors, checked at the end

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function api(p) {
  const res = await standalone.fetch(p);
  return { status: res.status, body: await res.json() };
}

// searchFor types q in the search box and runs it until a hit containing text is listed
// (lines become searchable within a second or two of being written).
async function searchFor(q, text) {
  const box = page.locator('[data-search-box]');
  return until(`a hit with "${text}" for query ${q}`, async () => {
    await box.fill(q);
    const answered = page.waitForResponse((r) => r.url().includes('/api/search?') && !r.url().includes('cursor='));
    await box.press('Enter');
    await answered;
    const row = page.locator('[data-testid=results] .hit', { hasText: text }).first();
    await row.waitFor({ timeout: 1000 });
    return row;
  }, STEP_TIMEOUT, 0);
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) fs.rmSync(path.join(ARTIFACTS, f), { recursive: true, force: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'logcollect-ui-'));
  logDir = path.join(tmp, 'logs');
  fs.mkdirSync(logDir);
  standalone = SERVER
    ? await startCluster(tmp, logDir, { run, topic: TOPIC, topics: [TOPIC, NEWTOPIC], key: `ui_${run}_conf`, host: HOST })
    : await startStandalone(tmp, logDir);
  base = standalone.base;
  // A file created after start-up is read from its beginning.
  appendLines(path.join(logDir, 'app.log'), Array.from({ length: 40 }, (_, i) =>
    `${stamp(i)} INFO request ${i} served${i === 20 ? ` ${WORD} found here` : ''}`));
  appendLines(path.join(logDir, 'bulk.log'), Array.from({ length: BULK }, (_, i) => `bulk line ${i} ${BULKWORD}`));
  // Every line stored before the steps look for them (on the server: through the pipeline).
  await until('the data set to be searchable', async () =>
    (await api(`/api/search?q=${BULKWORD}&from=now-1h`)).body.total === BULK
    && (await api(`/api/search?q=${WORD}&from=now-1h`)).body.total === 1, 60_000, 250);

  context = await launchBrowser(tmp);
  context.setDefaultTimeout(STEP_TIMEOUT);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = context.pages()[0] ?? await context.newPage();
  const watch = (p) => p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  watch(page);
  context.on('page', watch);
});

after(async () => {
  await context?.close();
  await standalone?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('opening the printed URL signs in and leaves no token in the address or the history', async () => {
  if (SERVER) {
    // The server's token is the operator's (http.auth in its config): it prints the plain
    // URL, and the browser signs in with the form (the next step tests the form itself).
    assert.equal(standalone.openURL, `${base}/`);
    await page.goto(standalone.openURL);
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Access token').fill(standalone.token);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-testid=results]').waitFor();
    const cookie = (await context.cookies(base)).find((c) => c.name === 'logcollect_session');
    assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', `session cookie ${JSON.stringify(cookie)}`);
    await shot('00-signed-in');
    return;
  }
  assert.match(standalone.openURL, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/);
  const signedIn = page.waitForResponse((r) => r.url().endsWith('/api/login'));
  await page.goto(standalone.openURL);
  assert.equal((await signedIn).status(), 204);
  await page.locator('[data-testid=results]').waitFor();
  assert.equal(page.url(), `${base}/`);
  // The entry the URL was opened in was rewritten: going back and forth finds no token.
  await page.goBack();
  assert.ok(!page.url().includes('token'), page.url());
  await page.goForward();
  assert.equal(page.url(), `${base}/`);
  const cookie = (await context.cookies(base)).find((c) => c.name === 'logcollect_session');
  assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', `session cookie ${JSON.stringify(cookie)}`);
  await shot('00-signed-in');
});

test('without a session the page asks for the token; a wrong one is refused, the right one signs in', async () => {
  const other = await launchBrowser(tmp);
  try {
    const p = other.pages()[0] ?? await other.newPage();
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await p.goto(`${base}/search`);
    const form = p.getByRole('form', { name: 'Sign in' });
    await form.waitFor();
    await form.getByLabel('Access token').fill('not-the-token');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await until('the refusal', async () => /not this server/.test(await form.locator('[data-signin-error]').textContent()));
    await p.screenshot({ path: path.join(ARTIFACTS, '00-sign-in-form.png') });
    await form.getByLabel('Access token').fill(standalone.token);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('[data-testid=results]').waitFor();
    assert.equal(p.url(), `${base}/search`);
    assert.equal(await p.getByRole('form', { name: 'Sign in' }).count(), 0);
  } finally {
    await other.close();
  }
});

test('find a line by a word', async () => {
  await page.goto(`${base}/search`);
  // `/` focuses the search box from anywhere on the page (once the page has mounted: the
  // shell loads the pages after the document).
  await page.locator('[data-search-box]').waitFor();
  await page.locator('body').press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.searchBox), '');
  const row = await searchFor(WORD, WORD);
  assert.equal(await row.locator('mark').first().textContent(), WORD, 'the word is highlighted');
  assert.match(page.url(), new RegExp(`[?&]q=${WORD}`), 'the query is in the URL');
  assert.equal(await page.locator('[data-testid=total]').textContent(), '1');
  // Facets come from /api/fields, asked after the hits: the file's path is offered as a
  // filter, counted for this search (1), not for the page's first, empty one.
  await page.locator('[data-testid=facets] .facet[data-field=path] .facet-value', { hasText: 'app.log' })
    .locator('.facet-count', { hasText: /^1$/ }).waitFor();
  await shot('01-search');
  // Click a facet value: a filter; shift-click another: an exclusion (here: nothing left).
  await page.locator('[data-testid=facets] .facet[data-field=path] .facet-value', { hasText: 'app.log' }).click();
  await page.locator('[data-testid=filters] .pill', { hasText: 'app.log' }).waitFor();
  assert.match(decodeURIComponent(page.url()), /[?&]f=path:\/.*app\.log/);
  await page.locator('[data-testid=results] .hit', { hasText: WORD }).waitFor();
  await page.locator('[data-testid=facets] .facet[data-field=topic] .facet-value', { hasText: TOPIC }).click({ modifiers: ['Shift'] });
  await page.locator('[data-testid=filters] .pill-exclude', { hasText: TOPIC }).waitFor();
  await page.locator('[data-testid=results-status] .empty').waitFor();
  // The facets follow the filters too (the server's come later than the hits).
  await page.locator('[data-testid=facets]', { hasText: 'No fields in these hits.' }).waitFor();
  await shot('01b-filters');
  await page.goBack();
  await page.locator('[data-testid=filters] .pill-exclude').waitFor({ state: 'detached' });
  await page.locator('[data-testid=filters] .pill-x').click();
  await until('no filters in the URL', () => !new URL(page.url()).searchParams.has('f'));
});

test('infinite scroll pages through every hit with the cursor', async () => {
  await searchFor(BULKWORD, `bulk line ${BULK - 1} `);
  const list = page.locator('[data-testid=results]');
  assert.equal(await page.locator('[data-testid=total]').textContent(), String(BULK));
  assert.equal(await list.getAttribute('data-count'), '200');
  for (const want of ['400', String(BULK)]) {
    const answered = page.waitForResponse((r) => r.url().includes('cursor='));
    await list.evaluate((e) => { e.scrollTop = e.scrollHeight; });
    await answered;
    await until(`${want} hits listed`, async () => (await list.getAttribute('data-count')) === want);
  }
  // The oldest line is at the bottom, and only the rows in view are in the page.
  await list.evaluate((e) => { e.scrollTop = e.scrollHeight; });
  await page.locator('[data-testid=results] .hit', { hasText: 'bulk line 0 ' }).waitFor();
  assert.ok(await page.locator('[data-testid=results] .hit').count() < 100, 'rows are virtualised');
  await shot('01c-scrolled');
});

test('a query syntax error is shown where it is', async () => {
  const box = page.locator('[data-search-box]');
  await box.fill(`${WORD} "unbalanced`);
  await box.press('Enter');
  const err = page.locator('[data-testid=query-error]');
  await err.waitFor();
  assert.match(await err.textContent(), /quote/i);
  assert.equal(await err.locator('.caret-at').textContent(), '"', 'the caret marks the quote');
  await shot('02-query-error');
});

test('the syntax help and the time picker open, and close on Esc or a click outside', async () => {
  const help = page.locator('.help-pop');
  const picker = page.locator('.tp-pop');
  await page.locator('button[aria-label="Search syntax"]').click();
  await help.waitFor();
  assert.match(await help.textContent(), /exact phrase/);
  await page.locator('.topbar-hint').click();
  await help.waitFor({ state: 'hidden' });
  await page.locator('[data-testid=time-picker]').click();
  await picker.waitFor();
  // Opening the help is a click outside the picker: one popover at a time.
  await page.locator('button[aria-label="Search syntax"]').click();
  await help.waitFor();
  await picker.waitFor({ state: 'hidden' });
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'hidden' });
});

test('zoom the histogram and see the range change; back returns', async () => {
  await searchFor('request', 'request');
  const before = page.url();
  const label = page.locator('[data-testid=time-picker] .tp-label');
  assert.equal(await label.textContent(), 'Last 15 minutes');
  const bar = page.locator('[data-testid=histogram] .hist-bar:not(.empty)').first();
  const bucket = Number(await bar.getAttribute('data-t'));
  const answered = page.waitForResponse((r) => r.url().includes('/api/search?'));
  await bar.click();
  await answered;
  await until('the URL to hold the zoomed range', () => page.url() !== before);
  const url = new URL(page.url());
  assert.equal(Date.parse(url.searchParams.get('from')), bucket, 'from is the clicked bucket');
  assert.ok(Date.parse(url.searchParams.get('to')) > bucket);
  assert.match(await label.textContent(), /→/, 'the picker shows an absolute range');
  await page.locator('[data-testid=results] .hit', { hasText: 'request' }).first().waitFor();
  await shot('03-zoomed');
  // Then a drag across the plot zooms further.
  const plot = await page.locator('[data-testid=histogram]').boundingBox();
  const zoomed = page.url();
  await page.mouse.move(plot.x + plot.width * 0.1, plot.y + plot.height / 2);
  await page.mouse.down();
  await page.mouse.move(plot.x + plot.width * 0.9, plot.y + plot.height / 2, { steps: 5 });
  await page.mouse.up();
  await until('the drag to change the range', () => page.url() !== zoomed);
  await page.goBack();
  await until('back to the zoomed range', () => page.url() === zoomed);
  await page.goBack();
  await until('back to the first range', () => page.url() === before);
  await until('the picker to say Last 15 minutes again', async () => (await label.textContent()) === 'Last 15 minutes');
});

test('open a hit in context', async () => {
  const row = await searchFor(WORD, WORD);
  await row.click();
  const detail = page.locator('[data-testid=detail]');
  await detail.waitFor();
  assert.match(await detail.locator('[data-testid=detail-message]').textContent(), new RegExp(WORD));
  // The line's own timestamp is its time; when the agent read it (later) is beside it.
  const field = (k) => detail.locator('table.fields tr')
    .filter({ has: page.locator('th', { hasText: new RegExp(`^${k}$`) }) }).locator('.field-value').textContent();
  assert.equal(await field('time'), stamp(20), 'the event time is the line\'s own');
  assert.ok(Date.parse(await field('read_time')) > Date.parse(stamp(20)), 'read after its own time');
  await detail.locator('[data-testid=view-context]').click();
  const anchor = page.locator('[data-testid=context] .ctx-line.anchor');
  await anchor.waitFor();
  assert.match(await anchor.textContent(), new RegExp(WORD));
  const lines = await page.locator('[data-testid=context] .ctx-line').allTextContents();
  const at = lines.findIndex((l) => l.includes(WORD));
  assert.ok(at > 0 && at < lines.length - 1, 'lines before and after the hit are shown');
  assert.match(lines[at - 1], /request 19 served/, 'in file order: the line before');
  assert.match(lines[at + 1], /request 21 served/, 'in file order: the line after');
  await shot('04-context');
  await detail.locator('button', { hasText: '← Line' }).click();
  await detail.locator('[data-testid=copy-line]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${stamp(20)} INFO request 20 served ${WORD} found here`);
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'hidden' });
});

test('live tail sees a new line arrive', async () => {
  await page.goto(`${base}/tail?q=${TAILWORD}`);
  await until('the tail to be live', async () => (await page.locator('[data-testid=tail-state]').textContent()) === 'Live');
  // The stream starts with lines stored after it opened; write until one shows (the
  // first may race the server's subscription).
  let n = 0;
  await until('a tailed line', async () => {
    n++;
    appendLines(path.join(logDir, 'app.log'), [`tail test ${TAILWORD} line ${n}`]);
    await page.locator('[data-testid=tail-lines] .hit', { hasText: TAILWORD }).first().waitFor({ timeout: LINE_WAIT });
    return true;
  }, STEP_TIMEOUT, 0);
  // A line that does not match the query does not show.
  appendLines(path.join(logDir, 'app.log'), ['tail test unrelated line', `tail test ${TAILWORD} last`]);
  await page.locator('[data-testid=tail-lines] .hit', { hasText: `${TAILWORD} last` }).waitFor();
  assert.equal(await page.locator('[data-testid=tail-lines] .hit', { hasText: 'unrelated' }).count(), 0);
  assert.match(await page.locator('[data-testid=tail-lines] mark').first().textContent(), new RegExp(TAILWORD));
  await shot('05-tail');
  await page.locator('[data-testid=pause]').click();
  assert.equal(await page.locator('[data-testid=pause]').textContent(), 'Resume');
});

test('add an entry in the editor; a bad one is refused at the field; its file becomes searchable', async () => {
  // Inside the standalone's default agent.allowed_paths: the --collect glob's directory.
  const otherDir = path.join(logDir, 'other');
  fs.mkdirSync(otherDir);
  const newFile = path.join(otherDir, 'new.log');
  appendLines(newFile, [`before the entry ${NEWWORD} existed`, 'second line']);
  await page.goto(`${base}/entries`);
  await page.locator('[data-testid=add-entry]').click();
  const editor = page.locator('[data-testid=editor]');
  await editor.locator('[name=path]').fill(newFile);
  await editor.locator('[data-testid=save]').click();
  // No topic: the server's validation error is shown at the topic field.
  const topic = editor.locator('.form-field[data-field=topic]');
  await until('the topic field to show the error', async () => (await topic.getAttribute('class')).includes('invalid'));
  assert.match(await topic.locator('.field-error').textContent(), /\S/);
  await shot('06-entry-field-error');
  await editor.locator('[name=topic]').fill(NEWTOPIC);
  await editor.locator('[name=start]').selectOption('beginning');
  await editor.locator('[data-testid=save]').click();
  await page.locator(`[data-testid=entries] tr[data-path="${newFile}"]`).waitFor();
  await editor.waitFor({ state: 'hidden' });
  await shot('07-entry-added');
  await page.goto(`${base}/search`);
  await searchFor(NEWWORD, NEWWORD);
  await page.locator('[data-testid=facets] .facet[data-field=topic] .facet-value', { hasText: NEWTOPIC }).waitFor();
  await shot('08-entry-searchable');
});

test('a conflict is shown with the new value and can be resolved', async () => {
  await page.goto(`${base}/entries`);
  await page.locator('[data-testid=revision]').waitFor();
  // Someone else, in another tab, saves first.
  const other = await context.newPage();
  await other.goto(`${base}/entries`);
  await other.locator('[data-testid=add-entry]').click();
  await other.locator('[data-testid=editor] [name=path]').fill(path.join(logDir, 'theirs', '*.log'));
  await other.locator('[data-testid=editor] [name=topic]').fill('theirs');
  await other.locator('[data-testid=editor] [data-testid=save]').click();
  await other.locator('[data-testid=editor]').waitFor({ state: 'hidden' });
  await other.close();
  // This tab still holds the old revision.
  await page.locator('[data-testid=add-entry]').click();
  const editor = page.locator('[data-testid=editor]');
  await editor.locator('[name=path]').fill(path.join(logDir, 'mine', '*.log'));
  await editor.locator('[name=topic]').fill('mine');
  await editor.locator('[data-testid=save]').click();
  const conflict = editor.locator('[data-testid=conflict]');
  await conflict.waitFor();
  assert.match(await conflict.locator('[data-testid=conflict-current]').textContent(), /theirs/, 'the value saved first is shown');
  // The table behind shows the new value too; mine is not in it yet.
  await page.locator('[data-testid=entries] tr', { hasText: 'theirs' }).waitFor();
  assert.equal(await page.locator('[data-testid=entries] tr', { hasText: `${path.sep}mine${path.sep}` }).count(), 0);
  await shot('09-conflict');
  await conflict.locator('[data-testid=apply-mine]').click();
  await editor.waitFor({ state: 'hidden' });
  await page.locator('[data-testid=entries] tr', { hasText: `${path.sep}mine${path.sep}` }).waitFor();
  assert.equal(await page.locator('[data-testid=entries] tr', { hasText: 'theirs' }).count(), 1, 'both changes are kept');
  // The JSON editor: a client-side JSON error, then the server's validation error.
  await page.locator('[data-testid=edit-json]').click();
  const json = editor.locator('[data-testid=json]');
  await json.fill('[{"path": ');
  await editor.locator('[data-testid=save]').click();
  await until('the JSON error', async () => /JSON/.test(await editor.locator('[data-testid=form-error]').textContent()));
  await json.fill('[{"path": "relative.log", "topic": "x"}]');
  await editor.locator('[data-testid=save]').click();
  await until('the server error naming the entry', async () => /entries\[0\]\.path/.test(await editor.locator('[data-testid=form-error]').textContent()));
  await shot('09b-json-error');
  await page.keyboard.press('Escape');
  await editor.waitFor({ state: 'hidden' });
});

test('hosts page shows the host and its charts', async () => {
  await page.goto(`${base}/hosts`);
  const host = page.locator('[data-testid=host-list] a').first();
  await host.waitFor();
  await until('a host to be chosen', () => new URL(page.url()).searchParams.get('host'));
  const name = new URL(page.url()).searchParams.get('host');
  if (SERVER) {
    // The server has no collector of its own: the sysagent writes to InfluxDB (its points
    // are checked in test/server); here the page's host is this run's and its charts draw.
    assert.equal(name, HOST);
    const cpu = async () => (await api(`/api/metrics?measurement=cpu&field=usage_percent&host=${HOST}&from=now-1h`)).body.series?.length > 0;
    await until('the first host metrics', cpu, 25_000, 500);
    await page.reload();
    for (const chart of ['cpu', 'load', 'mem', 'disk', 'diskio', 'net']) {
      await page.locator(`.chart-card[data-chart=${chart}] .uplot canvas`).waitFor();
    }
    await shot('10-hosts');
    return;
  }
  // The standalone runs the host-metrics collector, whose write-error counter is on
  // /metrics from the start (the call-error counter shows only once a call has failed);
  // its first points arrive within two intervals of the start: wait for them, then the
  // counter says the store took them.
  const writeErrors = async () => /^logcollect_host_write_errors_total (\S+)$/m.exec(await (await standalone.fetch('/metrics')).text())?.[1];
  assert.ok(await writeErrors(), 'the host collector\'s counters are on /metrics');
  const cpu = async () => (await api(`/api/metrics?measurement=cpu&field=usage_percent&host=${encodeURIComponent(name)}&from=now-1h`)).body.series?.length > 0;
  await until('the first host metrics', cpu, 25_000, 500);
  assert.equal(await writeErrors(), '0', 'the store refused no host points');
  await page.locator('[data-testid=refresh]').selectOption('10s');
  for (const chart of ['cpu', 'load', 'mem', 'disk', 'diskio', 'net']) {
    await page.locator(`.chart-card[data-chart=${chart}] .uplot canvas`).waitFor();
  }
  await shot('10-hosts');
});

test('agents page lists the standalone agent and its files', async () => {
  await page.goto(`${base}/agents`);
  // On the server: every component registered in the shared etcd; this run's agent by id.
  const row = SERVER ? page.locator('[data-testid=agents] tbody tr', { hasText: HOST }).first()
    : page.locator('[data-testid=agents] tbody tr').first();
  await row.waitFor();
  assert.match(await row.textContent(), SERVER ? new RegExp(HOST) : /standalone/);
  await row.locator('[data-testid=files]').click();
  // The registration lists the agent's entry paths.
  await page.locator('[data-testid=agents] .file-list li', { hasText: `${logDir}/*.log` }).waitFor();
  await shot('11-agents');
});

test('on a laptop screen the line panel fits beside the list', async () => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${base}/search?q=${BULKWORD}`);
  await page.locator('[data-testid=results] .hit').first().click();
  await page.locator('[data-testid=detail]').waitFor();
  const list = await page.locator('[data-testid=results]').boundingBox();
  const panel = await page.locator('[data-testid=detail]').boundingBox();
  assert.ok(panel.x >= list.x + list.width, 'the panel is beside the list, not over it');
  assert.ok(panel.x + panel.width <= 1280, 'the panel is on the screen');
  assert.ok(list.width >= 400, `the list keeps room for the lines (${list.width} px)`);
  await shot('13-laptop');
  await page.setViewportSize({ width: 1440, height: 900 });
});

test('the nav lists every page and switches between them; search and tail share the query', async () => {
  const pages = JSON.parse(fs.readFileSync(new URL('../../web/static/js/pages.json', import.meta.url), 'utf8'));
  await page.goto(`${base}/search?q=${WORD}`);
  const tabs = page.locator('nav.tabs a');
  await page.locator('nav.tabs a[aria-current=page]').waitFor();
  assert.deepEqual(await tabs.allTextContents(), pages.map((p) => p.title), 'one tab a page, in the list\'s order');
  for (const p of [...pages.slice(1), pages[0]]) {
    await page.locator('nav.tabs').getByRole('link', { name: p.title, exact: true }).click();
    await until(`the ${p.name} page`, async () => new URL(page.url()).pathname === `/${p.name}`
      && (await page.locator('#page').getAttribute('class')) === `page page-${p.name}`);
    assert.equal(await page.locator('nav.tabs a[aria-current=page]').getAttribute('data-page'), p.name);
    if (p.name === 'tail') assert.equal(new URL(page.url()).searchParams.get('q'), WORD, 'the tail keeps the query');
  }
});

test('dark mode follows the system setting', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${base}/search?q=${WORD}`);
  await page.locator('[data-testid=results] .hit').first().waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(246, 247, 249)', 'the dark palette is used');
  await shot('12-dark');
  assert.deepEqual(problems, [], 'no uncaught errors in the pages');
});
