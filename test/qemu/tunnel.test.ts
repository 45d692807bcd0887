// @integration: needs QEMU
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { QmpClient } from '../../src/execute/qmp-client.js';
import { type ContentSketch, measuredSimilarity } from '../../src/plan/content-sketch.js';
import { PSK_CIPHERS, PSK_IDENTITY } from '../../src/tunnel/psk.js';
import { CLI, ROOT, runCli, tempDir } from '../helpers.js';
import { buildGuest, type Guest, holdQemuLock, qemuCommand, releaseQemuLock } from './guest.js';

let guest: Guest;
let dir: string;
let psk: string;
const ports = { source: 0, dest: 0, incoming: 0 };
const proxies: ChildProcess[] = [];
const logs = { source: [] as Record<string, unknown>[], dest: [] as Record<string, unknown>[] };

function freePort(): number {
  // Ports from a range the kernel does not hand out as ephemeral ones here.
  return 20000 + Math.floor(Math.random() * 10000);
}

/** Starts a proxy and resolves once it listens; its JSON log lines collect in `into`. */
async function proxy(args: string[], into: Record<string, unknown>[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'tunnel', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  proxies.push(child);
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      into.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      buffer = buffer.slice(nl + 1);
    }
  });
  for (let i = 0; i < 100 && !into.some((e) => e.event === 'listening'); i++) await sleep(50);
  assert.ok(
    into.some((e) => e.event === 'listening'),
    `tunnel ${args[0]} listens`,
  );
  return child;
}

function startDest(): Promise<ChildProcess> {
  logs.dest.length = 0;
  return proxy(
    [
      'dest',
      '--listen',
      `127.0.0.1:${ports.dest}`,
      '--store',
      join(dir, 'store'),
      '--psk-file',
      psk,
      '--record',
      join(dir, 'out'),
    ],
    logs.dest,
  );
}

function ticks(serial: string): number[] {
  try {
    return [...readFileSync(serial, 'latin1').matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  } catch {
    return [];
  }
}

/** Boots guest `name` and its destination QEMU, waiting for the migration on ports.incoming. */
async function pair(name: string): Promise<{ source: string; destSerial: string }> {
  const source = join(dir, `${name}.qmp`);
  const spawnQemu = (args: string[]) => {
    const [cmd, ...rest] = args as [string, ...string[]];
    spawn(cmd, rest, { detached: true, stdio: 'ignore' }).unref();
  };
  spawnQemu(
    qemuCommand(guest, {
      qmp: source,
      serial: join(dir, `${name}.serial`),
      mac: '52:54:00:00:01:01',
      announcePort: 9,
    }),
  );
  const destSerial = join(dir, `${name}.dest.serial`);
  spawnQemu(
    qemuCommand(guest, {
      qmp: join(dir, `${name}.dest.qmp`),
      serial: destSerial,
      mac: '52:54:00:00:01:01',
      announcePort: 9,
      incoming: `tcp:127.0.0.1:${ports.incoming}`,
    }),
  );
  for (let i = 0; i < 300 && ticks(join(dir, `${name}.serial`)).length < 5; i++) await sleep(100);
  return { source, destSerial };
}

/** Migrates through the tunnel; resolves with QEMU's final status and how long it took to get there. */
async function migrate(
  qmp: string,
  bandwidth?: number,
  during?: () => void,
): Promise<{ status: string; error?: string }> {
  const client = await QmpClient.connect(qmp);
  try {
    if (bandwidth !== undefined)
      await client.execute('migrate-set-parameters', { 'max-bandwidth': bandwidth });
    await client.execute('migrate', { uri: `tcp:127.0.0.1:${ports.source}` });
    let called = false;
    for (;;) {
      const info = await client.execute<{
        status: string;
        'error-desc'?: string;
        ram?: { transferred: number };
      }>('query-migrate');
      if (!['setup', 'active', 'device'].includes(info.status))
        return {
          status: info.status,
          ...(info['error-desc'] === undefined ? {} : { error: info['error-desc'] }),
        };
      if (!called && during !== undefined && (info.ram?.transferred ?? 0) > 4e6) {
        called = true;
        during();
      }
      await sleep(100);
    }
  } finally {
    client.close();
  }
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

before(async () => {
  await holdQemuLock();
  guest = buildGuest();
  dir = tempDir();
  for (const d of ['store', 'in', 'out']) mkdirSync(join(dir, d));
  psk = join(dir, 'psk');
  writeFileSync(psk, randomBytes(32).toString('hex'));
  ports.source = freePort();
  ports.dest = ports.source + 1;
  ports.incoming = ports.source + 2;
  await startDest();
  await proxy(
    [
      'source',
      '--listen',
      `127.0.0.1:${ports.source}`,
      '--dest',
      `127.0.0.1:${ports.dest}`,
      '--forward',
      `127.0.0.1:${ports.incoming}`,
      '--psk-file',
      psk,
      '--record',
      join(dir, 'in'),
    ],
    logs.source,
  );
});

after(() => {
  releaseQemuLock();
  for (const p of proxies) p.kill('SIGKILL');
  spawnSync('pkill', ['-9', '-f', dir]);
});

describe('sky-plan tunnel with real QEMU migrations', { timeout: 600_000 }, () => {
  it('4 identical guests one after another: byte-identical streams, later ones cross the WAN at <= 30%', async () => {
    const ratios: number[] = [];
    for (const name of ['g1', 'g2', 'g3', 'g4']) {
      const { source, destSerial } = await pair(name);
      const result = await migrate(source);
      assert.equal(result.status, 'completed', JSON.stringify(result));
      for (let i = 0; i < 50 && logs.source.filter((e) => e.event === 'done').length < ratios.length + 1; i++)
        await sleep(100);
      const done = logs.source.filter((e) => e.event === 'done').at(-1) as Record<
        string,
        number | string | null
      >;
      assert.ok(done !== undefined, 'the source proxy reports the migration');
      assert.equal(
        done.passthrough === null ? null : (done.passthrough as unknown as { ramEnded: boolean }).ramEnded,
        true,
        'dedup ran until RAM ended',
      );
      ratios.push((done.wanBytes as number) / (done.streamBytes as number));
      // The destination proxy rebuilt exactly what QEMU sent.
      const id = done.session as string;
      const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
      const [input, output] = [join(dir, 'in', `${id}.in`), join(dir, 'out', `${id}.out`)];
      // The recordings are written asynchronously: wait until both hold the whole stream.
      for (
        let i = 0;
        i < 100 &&
        (size(input) < (done.streamBytes as number) || size(output) < (done.streamBytes as number));
        i++
      )
        await sleep(50);
      assert.equal(
        sha(join(dir, 'out', `${id}.out`)),
        sha(join(dir, 'in', `${id}.in`)),
        `${name}: rebuilt stream is byte-identical`,
      );
      // The guest runs at the destination and its counter goes on (a resumed TCG guest on a loaded
      // machine can take a few seconds to print its first tick there).
      for (let i = 0; i < 100 && ticks(destSerial).length === 0; i++) await sleep(100);
      assert.equal(await QmpClient.status(join(dir, `${name}.dest.qmp`)), 'running');
      const t = ticks(destSerial);
      assert.ok(
        t.length > 0 && (t[0] as number) >= (ticks(join(dir, `${name}.serial`)).at(-1) as number),
        `${name} continues at its destination`,
      );
    }
    process.stdout.write(`# WAN bytes / stream bytes: ${ratios.map((r) => r.toFixed(3)).join(', ')}\n`);
    assert.ok(
      (ratios[0] as number) < 0.95,
      `the first stream shrinks from its own duplicates (${ratios[0]})`,
    );
    for (const r of ratios.slice(1))
      assert.ok(r <= 0.3, `later streams cross at ${r.toFixed(3)} of their size`);
  });

  it('a dead destination proxy fails the migration within seconds; the VM runs on; the tunnel restarts at once', async () => {
    const { source } = await pair('k1');
    let killedAt = 0;
    const dest = proxies.find((p) => p.spawnargs.includes('dest')) as ChildProcess;
    const result = await migrate(source, 4e6, () => {
      killedAt = Date.now();
      dest.kill('SIGKILL');
    });
    assert.equal(result.status, 'failed');
    assert.ok(Date.now() - killedAt < 10_000, `QEMU saw the failure after ${Date.now() - killedAt} ms`);
    assert.equal(await QmpClient.status(source), 'running');
    const count = ticks(join(dir, 'k1.serial')).at(-1) as number;
    await sleep(600);
    assert.ok((ticks(join(dir, 'k1.serial')).at(-1) as number) > count, 'the VM keeps running');
    // Restarted on the same port and store, the same migration goes through.
    spawnSync('pkill', ['-9', '-f', `${dir}/k1.dest.qmp`]);
    await startDest();
    const again = await pair('k2');
    assert.equal((await migrate(again.source)).status, 'completed');
  });

  it('an unauthenticated peer learns nothing and cannot send anything', async () => {
    const attempt = (key: Buffer) =>
      new Promise<{ error?: string; bytes: number }>((resolve) => {
        let bytes = 0;
        const s = tlsConnect({
          host: '127.0.0.1',
          port: ports.dest,
          ciphers: PSK_CIPHERS,
          maxVersion: 'TLSv1.2',
          checkServerIdentity: () => undefined,
          pskCallback: () => ({ psk: key, identity: PSK_IDENTITY }),
        });
        s.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        s.on('error', (err) => resolve({ error: err.message, bytes }));
        s.on('close', () => resolve({ bytes }));
        s.on('secureConnect', () => s.end());
      });
    const wrong = await attempt(randomBytes(32));
    assert.ok(wrong.error !== undefined, 'a wrong key fails the handshake');
    assert.equal(wrong.bytes, 0);
    for (let i = 0; i < 40 && !logs.dest.some((e) => e.event === 'rejected'); i++) await sleep(50);
    assert.ok(
      logs.dest.some((e) => e.event === 'rejected'),
      'the destination logs the rejected peer',
    );
    // Plain TCP, no TLS: nothing comes back either.
    const plain = await new Promise<number>((resolve) => {
      let bytes = 0;
      const s = createConnection(ports.dest, '127.0.0.1', () =>
        s.write(Buffer.from([1, 0, 0, 0, 2, 123, 125])),
      );
      s.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      s.on('error', () => resolve(bytes));
      s.on('close', () => resolve(bytes));
      setTimeout(() => s.destroy(), 2000);
    });
    assert.ok(plain < 64, `a plain TCP peer got ${plain} bytes (at most a TLS alert)`);
    assert.ok(
      !logs.dest.some(
        (e) =>
          e.event === 'session' && logs.dest.indexOf(e) > logs.dest.findIndex((x) => x.event === 'rejected'),
      ),
      'no session was opened for it',
    );
  });

  it('fingerprint: identical guests measure as similar, and the planner uses the sketches', async (t) => {
    const sketches = ['g1', 'g2'].map((name) => {
      const out = join(dir, `${name}.sketch.json`);
      const r = runCli(['fingerprint', '--qmp', join(dir, `${name}.dest.qmp`), '--name', name, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(readFileSync(out, 'utf8')) as ContentSketch;
    });
    assert.equal(sketches[0]?.pages, (128 * 2 ** 20) / 4096);
    const similarity = measuredSimilarity(sketches);
    t.diagnostic(`similarity ${similarity.toFixed(3)}`);
    // Two guests booted from one image share most of their non-zero pages, not all (free memory, timers):
    // 0.714-0.722 in three runs here, and 0.6998 once in CI, where 0.7 was the bound (a bottom-k estimate
    // with k = 1024 carries about 0.02 of noise). Pages hashed wrongly or read from the wrong place share
    // next to nothing.
    assert.ok(similarity > 0.5, `identical guests share ${similarity} of their content`);
    // The planner measures the image's similarity from them.
    const graph = join(dir, 'sk-graph.json');
    const nodes = ['g1', 'g2'].map((id) => ({ id, kind: 'vm', cloud: 'a', vcpus: 1, memoryGiB: 0.125 }));
    writeFileSync(graph, JSON.stringify({ schema: 'sky-plan/graph@1', nodes, edges: [] }));
    const spec = join(dir, 'sk-clouds.json');
    writeFileSync(
      spec,
      JSON.stringify({
        clouds: [{ name: 'a' }, { name: 'b' }],
        images: [{ name: 'tiny' }],
        vms: ['g1', 'g2'].map((name) => ({ name, cloud: 'a', image: 'tiny', sketch: `${name}.sketch.json` })),
      }),
    );
    const plan = runCli(['plan', '--graph', graph, '--clouds', spec]);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(
      plan.stdout,
      new RegExp(`image tiny: similarity ${similarity.toFixed(2)} measured from 2 sketches`),
    );
  });
});
