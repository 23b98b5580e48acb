// What the browser test and the UI bench share: a real `logcollect standalone` on free
// ports with a temporary data dir, Debian's chromium through playwright-core, and a
// deadline-bound poll.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.LOGCOLLECT_BIN || path.resolve(here, '../../bin/logcollect');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(here, 'artifacts');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// until polls fn (async, returns a truthy value when done) until it does or the deadline.
export async function until(what, fn, timeoutMs = 15_000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function appendLines(file, lines) {
  fs.appendFileSync(file, lines.map((l) => `${l}\n`).join(''));
}

// startStandalone runs the binary collecting logDir/*.log (topic e2e_log) and resolves once
// /healthz answers. Its output goes to artifacts/<logName>. It returns the base URL, the
// URL the standalone printed for a person to open (with its access token in the
// fragment), the token (from the data dir, as a script would read it) and fetch with it.
export async function startStandalone(tmp, logDir, logName = 'standalone.log') {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} does not exist: run make build (or set LOGCOLLECT_BIN)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const [httpPort, etcdPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${httpPort}`;
  const out = fs.openSync(path.join(ARTIFACTS, logName), 'w');
  const proc = spawn(BIN, ['standalone',
    '--data-dir', path.join(tmp, 'data'),
    '--collect', `${logDir}/*.log=e2e_log`,
    '--http-listen', `127.0.0.1:${httpPort}`,
    '--etcd-listen', `127.0.0.1:${etcdPort}`,
  ], { stdio: ['ignore', out, out] });
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(`exited (${code ?? sig})`)));
  await until('the standalone to answer /healthz', () => Promise.race([
    exited.then((why) => { throw new Error(`standalone ${why}; see artifacts/${logName}`); }),
    fetch(`${base}/healthz`).then((r) => r.ok),
  ]), 30_000);
  const printed = /open (http:\/\/\S+)/.exec(fs.readFileSync(path.join(ARTIFACTS, logName), 'utf8'));
  if (!printed) throw new Error(`the standalone printed no URL to open; see artifacts/${logName}`);
  const token = fs.readFileSync(path.join(tmp, 'data', 'http-token'), 'utf8').trim();
  return {
    base,
    openURL: printed[1],
    token,
    // fetch with the access token, as a script holding it would.
    fetch: (p, init = {}) => fetch(`${base}${p}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
    // stop sends SIGTERM and waits for the exit (SIGKILL after 10 s).
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(t);
      }
      fs.closeSync(out);
    },
  };
}

// launchBrowser starts headless chromium with a fresh profile under tmp.
export async function launchBrowser(tmp, viewport = { width: 1440, height: 900 }) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} does not exist: apt-get install chromium (or set CHROMIUM)`);
  return chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    viewport,
    colorScheme: 'light',
  });
}
