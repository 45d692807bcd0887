// @integration: needs QEMU
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from '../../src/execute/qmp-client.js';
import { CLI, ROOT, tempDir } from '../helpers.js';
import {
  buildGuest,
  type Guest,
  holdQemuLock,
  qemuCommand,
  releaseQemuLock,
  serialTicks,
  writeLaunchScript,
} from './guest.js';

const VMS = ['p1', 'p2', 'q1', 's1'];
const mac = (vm: string) => `52:54:00:00:01:${(10 + VMS.indexOf(vm)).toString(16).padStart(2, '0')}`;
let guest: Guest;
let dir: string;
let graph: string;
let clouds: string;

const status = (cloud: string, vm: string) => QmpClient.status(join(dir, cloud, `${vm}.qmp`));
const qemus = (vm: string) =>
  spawnSync('pgrep', ['-f', `${dir}/[ab]/${vm}.qmp`], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean);

async function startVm(vm: string, cloud: string): Promise<void> {
  const [cmd, ...args] = qemuCommand(guest, {
    qmp: join(dir, cloud, `${vm}.qmp`),
    serial: join(dir, cloud, `${vm}.serial`),
    mac: mac(vm),
    announcePort: 9,
  }) as [string, ...string[]];
  spawn(cmd, args, { detached: true, stdio: 'ignore' }).unref();
  for (let i = 0; i < 300 && serialTicks(join(dir, cloud, `${vm}.serial`)).length < 3; i++) await sleep(100);
}

/** autopilot with the QMP driver, on the recorded graph's last hour; its exit code (null: killed). */
function autopilot(
  args: string[],
  onLog: (e: Record<string, unknown>, kill: () => void) => void = () => undefined,
) {
  const log = join(dir, 'decisions.jsonl');
  const child = spawn(
    process.execPath,
    [
      CLI,
      'autopilot',
      '--driver',
      'qmp',
      '-g',
      graph,
      '-c',
      clouds,
      '--now',
      'end',
      '--state',
      join(dir, 'state.json'),
      '--log',
      log,
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let seen = 0;
  const watch = setInterval(() => {
    const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
    for (; seen < lines.length; seen++) onLog(JSON.parse(lines[seen] as string), () => child.kill('SIGKILL'));
  }, 100);
  return new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearInterval(watch);
      resolve(code);
    }),
  );
}

const decisions = () =>
  readFileSync(join(dir, 'decisions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const history = () =>
  (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { history: { vm: string }[] }).history;

before(async () => {
  await holdQemuLock();
  guest = buildGuest();
  dir = tempDir();
  for (const c of ['a', 'b']) mkdirSync(join(dir, c));
  for (const vm of VMS) writeFileSync(join(dir, `${vm}.mac`), mac(vm));
  // An hour of 60 s windows: p1 and p2 in cloud a each send 100 MB a minute to q1 in b.
  const series = Array.from({ length: 60 }, (_, w): [number, number, number] => [w * 60, 1e8, 1e5]);
  const nodes = [
    { id: 'p1', kind: 'vm', cloud: 'a', vcpus: 1, memoryGiB: 0.125 },
    { id: 'p2', kind: 'vm', cloud: 'a', vcpus: 1, memoryGiB: 0.125 },
    { id: 'q1', kind: 'vm', cloud: 'b', vcpus: 1, memoryGiB: 0.125 },
  ];
  const edges = ['p1', 'p2'].map((source) => ({
    source,
    target: 'q1',
    bytes: 6e9,
    packets: 6e6,
    windows: { series, peakBytesPerSecond: 1e8 / 60, p95BytesPerSecond: 1e8 / 60 },
  }));
  graph = join(dir, 'graph.json');
  writeFileSync(
    graph,
    JSON.stringify({
      schema: 'sky-plan/graph@1',
      timeRange: { first: 0, seconds: 3600 },
      window: { seconds: 60, first: 0, count: 60 },
      nodes,
      edges,
    }),
  );
  const launch = writeLaunchScript(guest, dir, { announcePort: 9 });
  const qmp = { socket: `${dir}/{cloud}/{vm}.qmp`, launch: `sh ${launch} {vm} {cloud} {socket}` };
  clouds = join(dir, 'clouds.json');
  writeFileSync(
    clouds,
    JSON.stringify({
      // b is the cheaper cloud: p1 and p2 go there, rather than q1 coming to a.
      clouds: ['a', 'b'].map((name) => ({
        name,
        capacity: { vms: 4 },
        compute: { vmHour: name === 'a' ? 1 : 0.1 },
        egress: { default: 0.09 },
        qmp,
      })),
    }),
  );
});

after(() => {
  releaseQemuLock();
  spawnSync('pkill', ['-9', '-f', dir]);
});

describe('sky-plan autopilot --driver qmp on real QEMU', { timeout: 600_000 }, () => {
  it('moves the VM whose traffic crosses clouds, repeats no move when restarted, and resumes a round cut by kill -9', async () => {
    await startVm('p1', 'a');
    await startVm('q1', 'b');
    // p2 is not running yet: the first round would move it too, so it is pinned by an event until later.
    const events = join(dir, 'events.jsonl');
    writeFileSync(events, '{"type":"pin","time":0,"vm":"p2"}\n');
    assert.equal(await autopilot(['--once', '--events', events]), 0);
    const first = decisions()[0];
    assert.equal(first?.action, 'move', JSON.stringify(first));
    assert.deepEqual(
      ((first?.moves ?? []) as { vm: string; to: string }[]).map((m) => [m.vm, m.to]),
      [['p1', 'b']],
    );
    for (let i = 0; i < 100 && (await status('b', 'p1')) !== 'running'; i++) await sleep(100);
    assert.equal(await status('b', 'p1'), 'running');
    assert.equal(await status('a', 'p1'), undefined);

    // A new process: the graph still says p1 is in a; the state file says where it runs.
    const before = decisions().length;
    assert.equal(await autopilot(['--once', '--events', events]), 0);
    const again = decisions().slice(before);
    assert.equal(again[0]?.action, 'hold', JSON.stringify(again[0]));
    assert.deepEqual(
      history().map((m) => m.vm),
      ['p1'],
    );

    // p2 now, its migration slowed, and autopilot killed while it migrates.
    await startVm('p2', 'a');
    const c = await QmpClient.connect(join(dir, 'a', 'p2.qmp'));
    await c.execute('migrate-set-parameters', { 'max-bandwidth': 4e6 });
    c.close();
    writeFileSync(events, '{"type":"pin","time":0,"vm":"p2"}\n{"type":"unpin","time":1,"vm":"p2"}\n');
    const killed = await autopilot(['--period', '1h', '--events', events], (e, kill) => {
      if (e.type === 'start' && e.vm === 'p2') setTimeout(kill, 2000);
    });
    assert.equal(killed, null, 'autopilot was killed');
    const client = await QmpClient.connect(join(dir, 'a', 'p2.qmp')).catch(() => undefined);
    await client?.execute('migrate-set-parameters', { 'max-bandwidth': 2 ** 40 }).catch(() => undefined);
    client?.close();
    const mark = decisions().length;
    assert.equal(await autopilot(['--once', '--events', events]), 0);
    const resumed = decisions().slice(mark);
    assert.equal(resumed[0]?.action, 'resume', JSON.stringify(resumed));
    for (let i = 0; i < 300 && (await status('b', 'p2')) !== 'running'; i++) await sleep(100);
    assert.equal(await status('b', 'p2'), 'running');
    assert.equal(qemus('p2').length, 1, 'p2 runs in one place');
    assert.deepEqual(
      history().map((m) => m.vm),
      ['p1', 'p2'],
      'each move recorded once',
    );
  });

  it('a spot termination notice during the run evacuates its guest before the deadline', async () => {
    await startVm('s1', 'a');
    // Its own graph and spec: s1 alone, both clouds at one price, so nothing but the notice moves it.
    const spotGraph = join(dir, 'spot-graph.json');
    writeFileSync(
      spotGraph,
      JSON.stringify({
        schema: 'sky-plan/graph@1',
        timeRange: { first: 0, seconds: 3600 },
        window: { seconds: 60, first: 0, count: 60 },
        nodes: [{ id: 's1', kind: 'vm', cloud: 'a', vcpus: 1, memoryGiB: 0.125 }],
        edges: [],
      }),
    );
    const spotClouds = join(dir, 'spot-clouds.json');
    const spec = JSON.parse(readFileSync(clouds, 'utf8')) as { clouds: { compute: unknown }[] };
    for (const c of spec.clouds) c.compute = { vmHour: 0.1 };
    writeFileSync(spotClouds, JSON.stringify(spec));
    const state = join(dir, 'spot-state.json');
    const events = join(dir, 'spot-events.jsonl');
    writeFileSync(events, '');
    const log: Record<string, unknown>[] = [];
    // The wall clock this time: the recorded graph's windows are long past, so no traffic argues for a move.
    const child = spawn(
      process.execPath,
      [
        CLI,
        'autopilot',
        '--driver',
        'qmp',
        '-g',
        spotGraph,
        '-c',
        spotClouds,
        '--period',
        '1h',
        '--events',
        events,
        '--state',
        state,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        log.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 200 && log.length === 0; i++) await sleep(100);
      assert.equal(log[0]?.action, 'hold', JSON.stringify(log[0]));
      const notice = Date.now() / 1000;
      const deadline = notice + 60;
      writeFileSync(events, `${JSON.stringify({ type: 'terminate', time: notice, vm: 's1', deadline })}\n`);
      for (let i = 0; i < 600 && !log.some((e) => e.type === 'done' && e.vm === 's1'); i++) await sleep(100);
      const decision = log.find((e) => e.action === 'evacuate');
      const moves = (decision?.moves ?? []) as { vm: string; from: string; to: string }[];
      assert.deepEqual(
        moves.map((m) => [m.vm, m.from, m.to]),
        [['s1', 'a', 'b']],
      );
      assert.ok(
        log.some((e) => e.type === 'done' && e.vm === 's1'),
        JSON.stringify(log),
      );
      assert.ok(Date.now() / 1000 < deadline, 'evacuated before the deadline');
      for (let i = 0; i < 100 && (await status('b', 's1')) !== 'running'; i++) await sleep(100);
      assert.equal(await status('b', 's1'), 'running');
      assert.equal(await status('a', 's1'), undefined);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
