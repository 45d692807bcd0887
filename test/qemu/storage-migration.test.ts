// @integration: needs QEMU, qemu-img, qemu-io
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from '../../src/execute/qmp-client.js';
import { executeQmp, runCli, startTunnelDest, talkGraph, tempDir } from '../helpers.js';
import { diskContent, diskCounter, writeRandom } from './disk-content.js';
import {
  buildGuest,
  COUNTER_OFFSET,
  type Guest,
  holdQemuLock,
  qemuCommand,
  releaseQemuLock,
  serialTicks,
  ticksPast,
  writeLaunchScript,
} from './guest.js';

const MIB = 1 << 20;
const DISK_BYTES = 64 * MIB;

/** The base image holds 16 MiB of data; each VM's overlay holds its own data at 20 MiB. */
const BASE_DATA = 16 * MIB;
const OWN_AT = 20 * MIB;

let guest: Guest;
let dir: string;
const mac = (n: number) => `52:54:00:00:01:${n.toString(16).padStart(2, '0')}`;
const vmMacs = new Map<string, string>();

const qmp = (cloud: string, vm: string) => join(dir, cloud, `${vm}.qmp`);
const status = (cloud: string, vm: string) => QmpClient.status(qmp(cloud, vm));

const ticks = (cloud: string, vm: string) => serialTicks(join(dir, cloud, `${vm}.serial`));
const countsPast = (cloud: string, vm: string, after: number) =>
  ticksPast(join(dir, cloud, `${vm}.serial`), after);

/** What each image was given: the base images' data and each VM's own. */
const written = new Map<string, Buffer>();

/** A base image in cloud a (and optionally a copy in b), 64 MiB with 16 MiB of data. */
function makeBase(name: string, copyToB: boolean): string {
  const base = join(dir, 'a', `${name}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, String(DISK_BYTES)]);
  written.set(base, writeRandom(base, 0, BASE_DATA));
  if (copyToB) copyFileSync(base, join(dir, 'b', `${name}.qcow2`));
  return base;
}

/** A VM in cloud a on an overlay of `base`, with `own` bytes of its own data; booted and writing. */
async function startVm(vm: string, base: string, own: number): Promise<string> {
  const disk = join(dir, 'a', `${vm}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', disk]);
  written.set(vm, writeRandom(disk, OWN_AT, own));
  vmMacs.set(vm, mac(vmMacs.size + 1));
  writeFileSync(join(dir, `${vm}.mac`), vmMacs.get(vm) as string);
  const [cmd, ...args] = qemuCommand(guest, {
    qmp: qmp('a', vm),
    serial: join(dir, 'a', `${vm}.serial`),
    mac: vmMacs.get(vm) as string,
    announcePort: 9,
    disk,
  }) as [string, ...string[]];
  spawn(cmd, args, { detached: true, stdio: 'ignore' }).unref();
  for (let i = 0; i < 300 && ticks('a', vm).length < 3; i++) await sleep(100);
  assert.ok(ticks('a', vm).length >= 3, `${vm} boots and counts`);
  return disk;
}

/** Graph, inventory (disks, images) and plan: each VM in a talks to y1 in the cheaper cloud b. */
function planFor(
  movers: { vm: string; disk: string }[],
  image: { name: string; at?: Record<string, string> },
  name: string,
  o: { mirrorBytesPerSecond?: number; tunnel?: { dest: string; pskFile: string } } = {},
): { plan: string; clouds: string } {
  const graph = talkGraph(
    join(dir, `${name}-graph.json`),
    movers.map(({ vm }) => vm),
    'y1',
  );
  const settings = {
    socket: `${dir}/{cloud}/{vm}.qmp`,
    launch: `sh ${writeLaunchScript(guest, dir, { announcePort: 9, disk: true })} {vm} {cloud} {socket} {disks}`,
    disk: `${dir}/{cloud}/{vm}-{device}.qcow2`,
  };
  const clouds = join(dir, `${name}-inventory.json`);
  writeFileSync(
    clouds,
    JSON.stringify({
      clouds: [
        { name: 'a', compute: { vmHour: 1 }, egress: { default: 0.09 }, qmp: settings },
        {
          name: 'b',
          compute: { vmHour: 0.1 },
          egress: { default: 0.09 },
          qmp: {
            ...settings,
            ...(o.mirrorBytesPerSecond === undefined ? {} : { mirrorBytesPerSecond: o.mirrorBytesPerSecond }),
          },
          ...(o.tunnel === undefined ? {} : { tunnel: o.tunnel }),
        },
      ],
      vms: [
        // Sizes and backing chain are left out: sky-plan reads them with qemu-img.
        ...movers.map(({ vm, disk }) => ({
          name: vm,
          cloud: 'a',
          memoryGiB: 0.125,
          image: image.name,
          disks: [{ device: 'vda', path: disk }],
        })),
        { name: 'y1', cloud: 'b', memoryGiB: 0.125, pinned: true },
      ],
      images: [image],
    }),
  );
  const plan = join(dir, `${name}-plan.json`);
  const r = runCli(['plan', '--graph', graph, '--clouds', clouds, '--out', plan]);
  assert.equal(r.status, 0, r.stderr);
  return { plan, clouds };
}

interface ImageNode {
  filename: string;
  'backing-image'?: ImageNode;
}

/** Every file the QEMU behind `socket` has open for its disks (query-block, down the backing chains). */
async function openFiles(socket: string): Promise<string[]> {
  const client = await QmpClient.connect(socket);
  try {
    const blocks = await client.execute<{ inserted?: { image: ImageNode } }[]>('query-block');
    const files: string[] = [];
    for (const b of blocks)
      for (let img = b.inserted?.image; img !== undefined; img = img['backing-image'])
        files.push(img.filename);
    return files;
  } finally {
    client.close();
  }
}

/** The destination's command line, from /proc: what the launch command really started. */
function commandLine(socket: string): string[] {
  const pid = spawnSync('pgrep', ['-f', socket], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  assert.ok(pid, `a QEMU for ${socket}`);
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
}

async function stop(socket: string): Promise<void> {
  const client = await QmpClient.connect(socket);
  await client.execute('stop');
  client.close();
}

/**
 * After a move: the guest runs in b only, its counter goes on (serial and disk), the destination never
 * touched cloud a's files, and its disk equals the source's final disk except for the counter written since.
 */
async function checkMoved(vm: string, sourceDisk: string): Promise<Buffer> {
  for (let i = 0; i < 300 && ticks('b', vm).length === 0; i++) await sleep(100);
  assert.equal(await status('b', vm), 'running', `${vm} runs in b`);
  assert.equal(await status('a', vm), undefined, `${vm} no longer runs in a`);
  assert.ok((ticks('b', vm)[0] as number) >= (ticks('a', vm).at(-1) as number), 'the same guest goes on');
  assert.ok(await countsPast('b', vm, ticks('b', vm).at(-1) as number), `${vm} keeps counting in b`);
  const files = await openFiles(qmp('b', vm));
  assert.ok(files.length > 0);
  for (const f of files) assert.ok(f.startsWith(join(dir, 'b')), `the destination opens ${f}, in b`);
  for (const word of commandLine(qmp('b', vm)))
    assert.ok(!word.includes(join(dir, 'a')), `the destination's command line names ${word}`);
  const source = diskContent(sourceDisk);
  await sleep(1000); // a few more counter writes at the destination
  await stop(qmp('b', vm));
  const moved = diskContent(join(dir, 'b', `${vm}-vda.qcow2`));
  assert.ok(diskCounter(moved) > diskCounter(source), 'the counter on disk continues');
  const mask = (d: Buffer) => {
    const copy = Buffer.from(d);
    copy.fill(0, COUNTER_OFFSET, COUNTER_OFFSET + 512);
    return copy;
  };
  assert.equal(moved.length, source.length);
  assert.ok(mask(moved).equals(mask(source)), 'the disk at the destination is the source disk');
  const own = written.get(vm) as Buffer;
  assert.ok(source.subarray(OWN_AT, OWN_AT + own.length).equals(own), 'the VM data is on it');
  return moved;
}

before(async () => {
  await holdQemuLock();
  guest = buildGuest();
  dir = tempDir();
  for (const c of ['a', 'b']) mkdirSync(join(dir, c));
});

after(() => {
  releaseQemuLock();
  spawnSync('pkill', ['-9', '-f', dir]);
  // Images and their raw copies: a few hundred MB per run, which filled a disk once.
  rmSync(dir, { recursive: true, force: true });
});

describe('execute --driver qmp moves VMs with their disks (no shared storage)', { timeout: 600_000 }, () => {
  it('an overlay whose base image is at the destination: only its own blocks are mirrored (sync top)', async () => {
    const base = makeBase('base-top', true);
    const disk = await startVm('s1', base, 4 * MIB);
    const { plan, clouds } = planFor(
      [{ vm: 's1', disk }],
      { name: 'img-top', at: { b: join(dir, 'b', 'base-top.qcow2') } },
      'top',
    );
    const doc = JSON.parse(readFileSync(plan, 'utf8')) as {
      moves: { vm: string; diskBytes: number; memoryBytes: number }[];
      sharedContent: unknown[];
    };
    const move = doc.moves.find((m) => m.vm === 's1');
    assert.ok(move !== undefined, 'the plan moves s1');
    // qemu-img's allocated bytes of the overlay: its 4 MiB and metadata, not the base's 16 MiB.
    assert.ok(move.diskBytes >= 4 * MIB && move.diskBytes < 6 * MIB, `disk bytes ${move.diskBytes}`);
    assert.deepEqual(doc.sharedContent, [], 'the base is at the destination: nothing shared crosses');
    const events: Record<string, unknown>[] = [];
    const code = await executeQmp(
      ['--plan', plan, '--clouds', clouds, '--journal', join(dir, 'top.journal')],
      (e) => events.push(e),
    );
    assert.equal(code, 0, JSON.stringify(events));
    assert.ok(
      events.some((e) => e.type === 'progress' && (e.disk as { copied: number } | undefined) !== undefined),
      'progress reports the disk mirror',
    );
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '--output=json', join(dir, 'b', 's1-vda.qcow2')], {
        encoding: 'utf8',
      }),
    ) as { 'backing-filename'?: string; 'actual-size': number };
    assert.equal(
      info['backing-filename'],
      join(dir, 'b', 'base-top.qcow2'),
      "the new overlay is on b's base",
    );
    assert.ok(
      info['actual-size'] < 8 * MIB,
      `only the overlay's blocks were written: ${info['actual-size']}`,
    );
    await checkMoved('s1', disk);
  });

  it('an overlay whose base is not at the destination: every allocated block is copied (sync full)', async () => {
    const base = makeBase('base-full', false);
    const disk = await startVm('s2', base, 4 * MIB);
    const { plan, clouds } = planFor([{ vm: 's2', disk }], { name: 'img-full' }, 'full');
    const doc = JSON.parse(readFileSync(plan, 'utf8')) as {
      sharedContent: { image: string; to: string; diskBytes: number }[];
    };
    assert.equal(doc.sharedContent.length, 1);
    assert.ok((doc.sharedContent[0]?.diskBytes as number) >= BASE_DATA, 'the base crosses, once');
    const code = await executeQmp([
      '--plan',
      plan,
      '--clouds',
      clouds,
      '--journal',
      join(dir, 'full.journal'),
    ]);
    assert.equal(code, 0);
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '--output=json', join(dir, 'b', 's2-vda.qcow2')], {
        encoding: 'utf8',
      }),
    ) as { 'backing-filename'?: string };
    assert.equal(info['backing-filename'], undefined, 'a standalone image');
    const moved = await checkMoved('s2', disk);
    assert.ok(moved.subarray(0, BASE_DATA).equals(written.get(base) as Buffer), "the base's data came along");
  });

  it('--dedup: the second VM of a base missing at the destination sends little more than its own data', async () => {
    const psk = join(dir, 'psk');
    writeFileSync(psk, 'cd'.repeat(32));
    const { port, process: tunnel } = await startTunnelDest(join(dir, 'store-b'), psk);
    try {
      const base = makeBase('base-dedup', false);
      const movers = [
        { vm: 'g1', disk: await startVm('g1', base, 4 * MIB) },
        { vm: 'g2', disk: await startVm('g2', base, 4 * MIB) },
      ];
      const { plan, clouds } = planFor(movers, { name: 'img-dedup' }, 'dedup', {
        tunnel: { dest: `127.0.0.1:${port}`, pskFile: psk },
      });
      const events: Record<string, unknown>[] = [];
      const one = ['--max-per-source', '1', '--max-per-dest', '1', '--max-per-link', '1'];
      const code = await executeQmp(
        ['--plan', plan, '--clouds', clouds, '--journal', join(dir, 'dedup.journal'), '--dedup', ...one],
        (e) => events.push(e),
      );
      assert.equal(code, 0, JSON.stringify(events));
      type Counters = { wanBytes: number; streamBytes: number; pagesRef: number };
      const disks = new Map(
        events
          .filter((e) => e.type === 'done')
          .map((e) => [e.vm as string, (e.dedup as { disks?: Counters }).disks as Counters]),
      );
      const [first, second] = [...disks.keys()];
      const baseBytes = statSync(base).blocks * 512;
      const firstDisk = disks.get(first as string) as Counters;
      const secondDisk = disks.get(second as string) as Counters;
      assert.ok(firstDisk.wanBytes > BASE_DATA, `the first VM carries the base: ${firstDisk.wanBytes}`);
      assert.ok(
        secondDisk.wanBytes <= 4 * MIB + 0.02 * baseBytes,
        `the second sends ${secondDisk.wanBytes} for its disk: its own 4 MiB + at most 2% of the base's ${baseBytes}`,
      );
      assert.ok(secondDisk.pagesRef >= BASE_DATA / 4096, 'the base blocks crossed as hashes');
      for (const { vm, disk } of movers) await checkMoved(vm, disk);
    } finally {
      tunnel.kill('SIGKILL');
    }
  });

  it('the executor killed during the mirror, then during memory migration: --resume ends with one VM on a consistent disk', async () => {
    const base = makeBase('base-resume', false);
    const disk = await startVm('r1', base, 8 * MIB);
    const { plan, clouds } = planFor([{ vm: 'r1', disk }], { name: 'img-resume' }, 'resume', {
      mirrorBytesPerSecond: 4e6,
    });
    const source = await QmpClient.connect(qmp('a', 'r1'));
    await source.execute('migrate-set-parameters', { 'max-bandwidth': 4e6 });
    source.close();
    const journal = join(dir, 'resume.journal');
    const killWhen = (inPhase: (e: Record<string, unknown>) => boolean) => {
      let armed = true;
      return (e: Record<string, unknown>, child: ChildProcess) => {
        if (armed && e.type === 'progress' && inPhase(e)) {
          armed = false;
          setTimeout(() => child.kill('SIGKILL'), 1500);
        }
      };
    };
    const duringMirror = await executeQmp(
      ['--plan', plan, '--clouds', clouds, '--journal', journal],
      killWhen((e) => e.total === 0),
    );
    assert.equal(duringMirror, null, 'killed while the disk was mirrored');
    const events: Record<string, unknown>[] = [];
    const duringMemory = await executeQmp(
      ['--plan', plan, '--clouds', clouds, '--resume', journal],
      (e, child) => {
        events.push(e);
        killWhen((x) => (x.total as number) > 0)(e, child);
      },
    );
    assert.equal(duringMemory, null, `killed while memory was sent: ${JSON.stringify(events)}`);
    // The rest of the migration need not stay slow: see the note in execute-qmp.test.ts on long
    // throttled precopy under TCG.
    const unthrottle = await QmpClient.connect(qmp('a', 'r1'));
    await unthrottle.execute('migrate-set-parameters', { 'max-bandwidth': 2 ** 40 });
    unthrottle.close();
    assert.deepEqual(
      events.find((e) => e.type === 'reconciled'),
      { ...events.find((e) => e.type === 'reconciled'), vm: 'r1', at: 'a' },
      'the interrupted mirror was rolled back',
    );
    const last: Record<string, unknown>[] = [];
    const code = await executeQmp(['--plan', plan, '--clouds', clouds, '--resume', journal], (e) =>
      last.push(e),
    );
    assert.equal(code, 0, JSON.stringify(last));
    assert.deepEqual(
      last.find((e) => e.type === 'reconciled'),
      { ...last.find((e) => e.type === 'reconciled'), vm: 'r1', at: 'b' },
      'the migration QEMU carried on was finished',
    );
    assert.equal(last.filter((e) => e.type === 'start').length, 0, 'and not started again');
    const qemus = spawnSync('pgrep', ['-fa', `${dir}/[ab]/r1.qmp`], { encoding: 'utf8' }).stdout.trim();
    assert.equal(qemus.split('\n').length, 1, qemus);
    await checkMoved('r1', disk);
  });

  it('the destination killed during the mirror: the source runs on, its disk intact, nothing left behind', async () => {
    const base = makeBase('base-fault', false);
    const disk = await startVm('f1', base, 8 * MIB);
    // 24 MiB at 2 MB/s: the mirror takes about 12 s, and the destination dies 2 s in.
    const { plan, clouds } = planFor([{ vm: 'f1', disk }], { name: 'img-fault' }, 'fault', {
      mirrorBytesPerSecond: 2e6,
    });
    const before = diskContent(disk);
    let killed = false;
    const events: Record<string, unknown>[] = [];
    const code = await executeQmp(
      ['--plan', plan, '--clouds', clouds, '--journal', join(dir, 'fault.journal')],
      (e) => {
        events.push(e);
        if (e.type === 'progress' && !killed) {
          killed = true;
          setTimeout(() => spawnSync('pkill', ['-9', '-f', qmp('b', 'f1')]), 2000);
        }
      },
    );
    assert.equal(code, 4, JSON.stringify(events));
    assert.ok(killed);
    assert.ok(events.some((e) => e.type === 'failed'));
    assert.equal(await status('a', 'f1'), 'running');
    assert.ok(await countsPast('a', 'f1', ticks('a', 'f1').at(-1) as number), 'f1 runs on at its source');
    assert.ok(!existsSync(join(dir, 'b', 'f1-vda.qcow2')), "the destination's partial disk is removed");
    const client = await QmpClient.connect(qmp('a', 'f1'));
    try {
      assert.deepEqual(await client.execute('query-block-jobs'), [], 'no mirror is left running');
      const nodes = await client.execute<{ 'node-name': string }[]>('query-named-block-nodes');
      assert.ok(!nodes.some((n) => n['node-name'].startsWith('sky-')), 'no NBD client is left');
      await client.execute('stop');
    } finally {
      client.close();
    }
    const afterFault = diskContent(disk);
    afterFault.fill(0, COUNTER_OFFSET, COUNTER_OFFSET + 512);
    before.fill(0, COUNTER_OFFSET, COUNTER_OFFSET + 512);
    assert.ok(afterFault.equals(before), "the source's disk is untouched");
  });
});
//# sourceMappingURL=storage-migration.test.js.map
