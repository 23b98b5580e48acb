// What the browser test and the UI bench share: a real `logcollect standalone` on free
// ports with a temporary data dir, or a real `logcollect server` over the real services
// fed by a real agent, transfer and sysagent (startCluster); Debian's chromium through
// playwright-core, and a deadline-bound poll.

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
// Screenshots and process logs; the server's run (UI_BACKEND=server) in artifacts/server.
export const ARTIFACTS = path.join(here, 'artifacts', process.env.UI_BACKEND === 'server' ? 'server' : '');

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
    kind: 'standalone',
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

// spawnLogged runs `logcollect args...` with its output in artifacts/<logName>, and
// returns the process, a promise of its exit reason and a stop that sends SIGTERM and
// waits for the exit (SIGKILL after 10 s).
function spawnLogged(args, logName) {
  const out = fs.openSync(path.join(ARTIFACTS, logName), 'w');
  const proc = spawn(BIN, args, { stdio: ['ignore', out, out] });
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(`exited (${code ?? sig})`)));
  return {
    proc,
    exited,
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

// Service addresses: scripts/services.sh's, or the LOGCOLLECT_TEST_* variables the Go
// integration tests read.
const SERVICES = {
  kafka: (process.env.LOGCOLLECT_TEST_KAFKA || '127.0.0.1:9092').split(','),
  etcd: (process.env.LOGCOLLECT_TEST_ETCD || '127.0.0.1:2379').split(','),
  opensearch: process.env.LOGCOLLECT_TEST_OPENSEARCH || 'http://127.0.0.1:9200',
  influxdb: process.env.LOGCOLLECT_TEST_INFLUXDB || 'http://127.0.0.1:8086',
};

// startCluster runs the cluster's side of the same UI, every part the real binary over the
// real services (scripts/services.sh): an agent collecting logDir/*.log into the Kafka topic
// `topic` (and whatever the entries under the etcd key `key` add, within logDir), a
// transfer from the topics into OpenSearch indices of this run only, a sysagent writing the
// host's metrics (as host `host`, the agent's id too) to an InfluxDB database of this run,
// and `logcollect server` over them with http.auth's token, editing `key`. It resolves, in
// startStandalone's shape, once the server answers /healthz; stop() stops every part and
// drops the indices, template and database.
export async function startCluster(tmp, logDir, { run, topic, topics, key, host }) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} does not exist: run make build (or set LOGCOLLECT_BIN)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const name = `ui-server-${run}`;
  const db = `logcollect_ui_${run}`;
  const token = `ui-token-${run}-${Math.random().toString(36).slice(2)}`;
  const list = (xs) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const write = (file, text) => { const p = path.join(tmp, file); fs.writeFileSync(p, text); return p; };
  const ports = { transfer: await freePort(), agent: await freePort(), sysagent: await freePort(), server: await freePort() };
  const parts = [];
  const start = async (what, args, logName, healthPort) => {
    const p = spawnLogged(args, logName);
    parts.unshift(p); // stopped in the reverse order: server, sysagent, agent, transfer
    await until(`the ${what} to answer /healthz`, () => Promise.race([
      p.exited.then((why) => { throw new Error(`${what} ${why}; see artifacts/${logName}`); }),
      fetch(`http://127.0.0.1:${healthPort}/healthz`).then((r) => r.ok),
    ]), 30_000);
  };
  const cleanup = async () => {
    await Promise.all([`/${name}-*`, `/_index_template/${name}`].map((p) =>
      fetch(`${SERVICES.opensearch}${p}`, { method: 'DELETE' }).catch(() => {})));
    await fetch(`${SERVICES.influxdb}/query`, { method: 'POST', body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }) }).catch(() => {});
  };
  const stop = async () => {
    for (const p of parts) await p.stop();
    await cleanup();
  };
  try {
    // The transfer first, from the start of topics the agent creates on its first record.
    await start('transfer', ['transfer', '--config', write('transfer.yaml', `kafka: {brokers: ${list(SERVICES.kafka)}}
etcd: {endpoints: []}
transfer: {group: ${name}, topics: ${list(topics)}, start: earliest}
opensearch: {addresses: ["${SERVICES.opensearch}"], index: "${name}-{topic}-{date}", template: ${name}, flush_interval: 200ms}
http: {listen: "127.0.0.1:${ports.transfer}"}
`)], 'transfer.log', ports.transfer);
    await start('agent', ['agent', '--config', write('agent.yaml', `agent:
  id: ${host}
  data_dir: ${path.join(tmp, 'agent-data')}
  output: kafka
  scan_interval: 200ms
  allowed_paths: ["${logDir}/**"]
  collect: [{path: "${logDir}/*.log", topic: ${topic}, start: beginning}]
kafka: {brokers: ${list(SERVICES.kafka)}}
etcd: {endpoints: ${list(SERVICES.etcd)}, collect_keys: [${key}]}
http: {listen: "127.0.0.1:${ports.agent}"}
`)], 'agent.log', ports.agent);
    await start('sysagent', ['sysagent', '--config', write('sysagent.yaml', `sysagent:
  interval: 2s
  host: ${host}
  influxdb: {url: "${SERVICES.influxdb}", database: ${db}}
etcd: {endpoints: ${list(SERVICES.etcd)}}
agent: {id: ${host}}
http: {listen: "127.0.0.1:${ports.sysagent}"}
`)], 'sysagent.log', ports.sysagent);
    await start('server', ['server', '--config', write('server.yaml', `http:
  listen: 127.0.0.1:${ports.server}
  auth: {token: "${token}"}
opensearch: {addresses: ["${SERVICES.opensearch}"], index: "${name}-{topic}-{date}"}
etcd: {endpoints: ${list(SERVICES.etcd)}, collect_keys: [${key}]}
agent: {allowed_paths: ["${logDir}/**"]}
sysagent: {influxdb: {url: "${SERVICES.influxdb}", database: ${db}}}
server: {metrics: influxdb}
`)], 'server.log', ports.server);
  } catch (e) {
    await stop();
    throw e;
  }
  const base = `http://127.0.0.1:${ports.server}`;
  const printed = /open (http:\/\/\S+)/.exec(fs.readFileSync(path.join(ARTIFACTS, 'server.log'), 'utf8'));
  return {
    kind: 'server',
    base,
    openURL: printed?.[1],
    token,
    fetch: (p, init = {}) => fetch(`${base}${p}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
    stop,
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
