// @integration: needs a minute, 200 sockets and ~1 GB of loopback traffic
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { emptyStats } from '../../capture/decode-stats.js';
import { FLOW_FLAG, WINDOW_SCHEMA } from '../../capture/window-document.js';
import { tempDir, writeTemp } from '../helpers.js';
import { aggregatorUrl, Background } from './background.js';

const TOKEN = 'abuse-test-token-0123456789';
const dir = tempDir();
const journal = join(dir, 'journal.ndjson');
const out = join(dir, 'graph.json');
const tokenFile = writeTemp('token', `${TOKEN}\n`);

after(() => Background.killAll());

/**
 * A valid window of collector number `c` (its own hypervisor and VM: a VM's traffic is counted by the
 * hypervisor it runs on), number `seq`: `bytes` from its VM to a database outside.
 */
function window(c: number, seq: number, bytes: number): Record<string, unknown> {
  const mac = `52:54:00:00:${(c >> 8).toString(16).padStart(2, '0')}:${(c & 255).toString(16).padStart(2, '0')}`;
  const ip = `10.1.${c >> 8}.${(c & 255) + 1}`;
  return {
    schema: WINDOW_SCHEMA,
    id: `c${c}/1/${seq}`,
    collector: `c${c}`,
    host: `hv${c}`,
    instance: '1',
    seq,
    window: { seconds: 60, index: 29_000_000 + (seq % 50) },
    byteCount: 'wire',
    interfaces: [{ name: 'vnet0', received: 1, dropped: 0, ifDropped: 0, countedElsewhere: 0 }],
    decode: { ...emptyStats(), frames: 1, ok: 1 },
    vms: [{ name: `web${c}`, mac, interface: 'vnet0' }],
    arp: [[ip, mac]],
    announcements: [],
    endpoints: [
      [4, ip, mac, null, null],
      [4, '10.9.0.2', '52:54:00:ff:00:02', 5432, null],
    ],
    flows: [[0, 1, bytes, 1, FLOW_FLAG.newFlow]],
  };
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTP request on its own connection; `body` may be a generator of chunks (sent chunked). */
function send(
  url: string,
  method: string,
  path: string,
  body?: string | Buffer | (() => AsyncGenerator<Buffer>),
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    // A refused body is cut off mid-way: the answer has come already, or the error is the refusal.
    req.on('error', (err) => reject(err));
    if (typeof body === 'function') {
      (async () => {
        for await (const chunk of body())
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      })().catch(() => undefined);
    } else req.end(body);
  });
}

/** Total bytes of a graph@1 document's edges. */
const totalBytes = (json: string) =>
  (JSON.parse(json) as { edges: { bytes: number }[] }).edges.reduce((s, e) => s + e.bytes, 0);

/**
 * Bytes in the aggregator's graph now. A window is counted once every live collector has gone past it
 * (it settled), so mid-run this is at most what was taken; at the end, all of it.
 */
async function graphBytes(url: string): Promise<number> {
  return totalBytes((await send(url, 'GET', '/v1/graph')).body);
}

const start = () =>
  new Background([
    'collect',
    '--listen',
    '127.0.0.1:0',
    '--token-file',
    tokenFile,
    '--journal',
    journal,
    '--out',
    out,
  ]);

/** Polls /v1/status every 100 ms while the abuse runs: the worst latency seen, and any failure. */
function watchStatus(url: string) {
  let worst = 0;
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const r = await send(url, 'GET', '/v1/status').catch(() => ({ status: 0, body: '' }));
      worst = Math.max(worst, performance.now() - started);
      if (r.status !== 200) failures++;
      await new Promise((res) => setTimeout(res, 100).unref());
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { worst, failures };
    },
  };
}

/** The collect process's peak resident memory (VmHWM), in MiB. */
function peakMiB(agg: Background): number {
  const status = readFileSync(`/proc/${agg.proc.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

describe('collect under abuse: responsive, bounded, nothing accepted is lost, every refusal a clear 4xx', () => {
  let agg: Background;
  let url: string;
  let accepted = 0;

  it('starts, and takes the windows of well-behaved collectors', async () => {
    agg = start();
    url = await aggregatorUrl(agg);
    for (let seq = 0; seq < 5; seq++) {
      const r = await send(url, 'POST', '/v1/windows', JSON.stringify(window(0, seq, 1000)));
      assert.equal(r.status, 200, r.body);
      accepted += 1000;
    }
    // The newest window waits until its collector sends a later one (the graph trails by a window).
    assert.equal(await graphBytes(url), accepted - 1000);
  });

  it('refuses wrong tokens, bad JSON, wrong shapes and bad numbers with a 4xx that says why', async () => {
    const watch = watchStatus(url);
    const before = await graphBytes(url);
    const post = (body: string, headers?: Record<string, string>) =>
      send(url, 'POST', '/v1/windows', body, headers);
    const good = JSON.stringify(window(0, 100, 5));
    const cases: [string, Promise<Answer>, RegExp][] = [
      ['no token', post(good, {}), /bearer token/],
      ['wrong token', post(good, { authorization: 'Bearer nope' }), /bearer token/],
      ['a longer wrong token', post(good, { authorization: `Bearer ${TOKEN}${TOKEN}` }), /bearer token/],
      ['not JSON', post('{"schema": '), /JSON/],
      ['NaN is not JSON', post(good.replace('"seq":100', '"seq":NaN')), /JSON/],
      ['an array', post('[1,2,3]'), /schema|object|window/i],
      ['another schema', post(JSON.stringify({ ...window(0, 101, 5), schema: 'x' })), /schema/],
      ['negative bytes', post(JSON.stringify(window(0, 102, -5))), /flow|bytes/i],
      ['huge bytes', post(JSON.stringify(window(0, 103, 1e300))), /flow|bytes/i],
      ['2^60 bytes', post(JSON.stringify(window(0, 104, 2 ** 60))), /flow|bytes/i],
      ['a string count', post(good.replace('"received":1', '"received":"1"')), /received|number/i],
      ['a huge seq', post(good.replace('"seq":100', '"seq":1e400')), /seq|number/i],
      ['a wrong path', send(url, 'GET', '/v1/nothing'), /try POST/],
    ];
    for (const [name, answer, message] of cases) {
      const r = await answer;
      assert.ok(r.status >= 400 && r.status < 500, `${name}: ${r.status}`);
      assert.match(JSON.parse(r.body).error as string, message, name);
    }
    const { worst, failures } = await watch.stop();
    assert.equal(failures, 0);
    assert.ok(worst < 1000, `status took ${worst.toFixed(0)} ms`);
    assert.equal(await graphBytes(url), before, 'nothing refused was counted');
  });

  it('refuses a 200 MB body, declared or chunked, without holding it', async () => {
    const watch = watchStatus(url);
    const declared = await send(url, 'POST', '/v1/windows', undefined, {
      authorization: `Bearer ${TOKEN}`,
      'content-length': String(200 << 20),
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    assert.equal(declared.status, 413, declared.body);
    const chunked = await send(url, 'POST', '/v1/windows', async function* () {
      const mb = Buffer.alloc(1 << 20, 0x20);
      for (let i = 0; i < 200; i++) yield mb;
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    // The refusal may reach us as the answer, or as the connection cut while we were still sending.
    assert.ok(chunked.status === 413 || /ECONNRESET|EPIPE|socket hang up/.test(chunked.body), chunked.body);
    const { worst, failures } = await watch.stop();
    assert.equal(failures, 0);
    assert.ok(worst < 1000, `status took ${worst.toFixed(0)} ms`);
    assert.ok(peakMiB(agg) < 512, `peak RSS ${peakMiB(agg).toFixed(0)} MiB`);
  });

  it('stays responsive under 200 connections sending a byte a second, and cuts them off in time', async () => {
    const watch = watchStatus(url);
    const { port } = new URL(url);
    const head = `POST /v1/windows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n`;
    const slow: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(Number(port), '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      let at = 0;
      timers.push(setInterval(() => !s.destroyed && s.write(head[at++ % head.length] as string), 1000));
      slow.push(s);
    }
    await new Promise((r) => setTimeout(r, 4000));
    const during = await send(url, 'POST', '/v1/windows', JSON.stringify(window(0, 5, 1000)));
    assert.equal(during.status, 200, 'a window is taken while they drip');
    accepted += 1000;
    // The server's header timeout ends them: they hold no socket for ever.
    const deadline = Date.now() + 20_000;
    while (slow.some((s) => !s.destroyed) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    for (const t of timers) clearInterval(t);
    const open = slow.filter((s) => !s.destroyed).length;
    for (const s of slow) s.destroy();
    assert.equal(open, 0, `${open} slow connections still open`);
    const { worst, failures } = await watch.stop();
    assert.equal(failures, 0);
    assert.ok(worst < 1000, `status took ${worst.toFixed(0)} ms`);
  });

  it('takes 10,000 windows in a burst, each exactly once, and stays responsive', async (t) => {
    const watch = watchStatus(url);
    const started = performance.now();
    let next = 0;
    let retried = 0;
    const worker = async () => {
      for (let i = next++; i < 10_000; i = next++) {
        const body = JSON.stringify(window(1 + (i % 40), i, 10 + (i % 7)));
        for (;;) {
          const r = await send(url, 'POST', '/v1/windows', body);
          if (r.status === 200) break;
          assert.equal(r.status, 429, r.body); // many at once: wait and send it again
          retried++;
          await new Promise((res) => setTimeout(res, 50));
        }
        accepted += 10 + (i % 7);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    t.diagnostic(
      `10,000 windows in ${((performance.now() - started) / 1000).toFixed(1)} s, ${retried} sent again`,
    );
    // A redelivered window (a collector that missed the answer) is counted once.
    const again = await send(url, 'POST', '/v1/windows', JSON.stringify(window(1, 0, 10)));
    assert.match(again.body, /duplicate/);
    const { worst, failures } = await watch.stop();
    assert.equal(failures, 0);
    assert.ok(worst < 1000, `status took ${worst.toFixed(0)} ms (${retried} sent again after 429)`);
    assert.ok((await graphBytes(url)) <= accepted);
    assert.ok(peakMiB(agg) < 512, `peak RSS ${peakMiB(agg).toFixed(0)} MiB`);
  });

  it('counted every window it took, once, and loses none across a restart (the journal replays)', async () => {
    assert.equal(await agg.stop(), 0, agg.stderr);
    assert.equal(totalBytes(readFileSync(out, 'utf8')), accepted, 'the final graph');
    agg = start();
    url = await aggregatorUrl(agg);
    assert.equal(await graphBytes(url), accepted, 'after the restart');
    assert.equal(await agg.stop(), 0);
  });
});
