// @integration: needs root, libvirtd, QEMU, qemu-img, qemu-io
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import { Background, readWindowFiles } from '../collect/background.js';
import { CLI, runCli, startTunnelDest, talkGraph, tempDir, writeScript } from '../helpers.js';
import { diskContent, diskCounter, writeRandom } from '../qemu/disk-content.js';
import {
  buildGuest,
  type Guest,
  holdQemuLock,
  releaseQemuLock,
  serialTicks,
  ticksPast,
} from '../qemu/guest.js';
import { definePool, domainXml, type LibvirtHost, startLibvirtHost } from './libvirt-hosts.js';

const MIB = 1 << 20;
/** Where each host keeps its images, inside its own mount namespace. */
const IMAGES = '/var/lib/libvirt/images';
const OWN_AT = 32 * MIB;

let dir: string;
let guest: Guest;
let h1: LibvirtHost;
let h2: LibvirtHost;
let baseData: Buffer;
const own = new Map<string, Buffer>();

/**
 * Two libvirt daemons as the hosts of two clouds: h1 in a, h2 in b. h1 stores the base image as
 * debian.qcow2, h2 its own copy as debian-copy.qcow2 (images[].at says so), so an overlay that moves
 * must be re-based there. Each VM's disk is an overlay with 2 MiB of its own.
 */
before(async () => {
  await holdQemuLock();
  guest = buildGuest();
  dir = tempDir();
  h1 = await startLibvirtHost(dir, 'h1', 0);
  h2 = await startLibvirtHost(dir, 'h2', 1);
  for (const h of [h1, h2]) definePool(h);
  const base = join(h1.images, 'debian.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, String(64 * MIB)]);
  baseData = writeRandom(base, 0, 16 * MIB);
  copyFileSync(base, join(h2.images, 'debian-copy.qcow2'));
  for (const h of [h1, h2]) h.virsh('pool-refresh', 'images');
});

after(() => {
  Background.killAll();
  h1?.stop();
  h2?.stop();
  releaseQemuLock();
  if (dir !== undefined && process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
});

const serial = (vm: string) => join(dir, `${vm}.serial`);

/** A domain on h1 whose disk is an overlay on h1's base, running and ticking. */
async function startOnH1(vm: string, nic?: { bridge: string; mac: string }): Promise<void> {
  const overlay = join(h1.images, `${vm}.qcow2`);
  // Written through the base's path as seen from here, then pointed at the path h1 itself sees.
  const base = join(h1.images, 'debian.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
  own.set(vm, writeRandom(overlay, OWN_AT, 2 * MIB));
  execFileSync('qemu-img', ['rebase', '-u', '-b', `${IMAGES}/debian.qcow2`, '-F', 'qcow2', overlay]);
  h1.virsh('pool-refresh', 'images');
  const xml = join(dir, `${vm}.xml`);
  writeFileSync(
    xml,
    domainXml({
      name: vm,
      ...guest,
      disk: `${IMAGES}/${vm}.qcow2`,
      serial: serial(vm),
      ...(nic === undefined ? {} : { nic }),
    }),
  );
  h1.virsh('define', xml);
  h1.virsh('start', vm);
  // Booting under TCG takes a few seconds, more on a loaded machine.
  let booted = false;
  for (let i = 0; i < 6 && !booted; i++) booted = await ticksPast(serial(vm), 2);
  assert.ok(booted, `${vm} boots and ticks`);
}

/**
 * The plan of moving `vms` from h1 to b, written by sky-plan plan from a graph and the clouds spec;
 * `tunnel`: cloud b's dedup tunnel, with h2 taking migrations at 127.0.0.2 (the tunnel's source proxies
 * hold 127.0.0.1 at the same ports).
 */
function planMoves(
  vms: string[],
  wanMbps: number,
  tunnel?: { dest: string; pskFile: string },
): { plan: string; clouds: string } {
  const clouds = join(dir, `clouds-${vms.join('-')}.json`);
  writeFileSync(
    clouds,
    JSON.stringify({
      clouds: [
        { name: 'a', compute: { vmHour: 1 }, egress: { default: 0.09 }, wan: { defaultMbps: wanMbps } },
        {
          name: 'b',
          compute: { vmHour: 0.1 },
          egress: { default: 0.09 },
          wan: { defaultMbps: wanMbps },
          ...(tunnel === undefined ? {} : { tunnel }),
        },
      ],
      hosts: [
        { name: 'h1', cloud: 'a', libvirt: { uri: h1.uri, migrationAddress: '127.0.0.1' } },
        {
          name: 'h2',
          cloud: 'b',
          capacity: { vcpus: 8, memoryGiB: 4 },
          libvirt: { uri: h2.uri, migrationAddress: tunnel === undefined ? '127.0.0.1' : '127.0.0.2' },
        },
      ],
      vms: [
        ...vms.map((name) => ({
          name,
          host: 'h1',
          vcpus: 1,
          memoryGiB: 0.125,
          image: 'debian',
          // The script driver writes its commands from these; the libvirt driver asks libvirt.
          disks: [
            {
              device: 'vda',
              path: `${IMAGES}/${name}.qcow2`,
              format: 'qcow2',
              virtualBytes: 64 * MIB,
              allocatedBytes: 3 * MIB,
              backing: [`${IMAGES}/debian.qcow2`],
            },
          ],
        })),
        { name: 'y', host: 'h2', vcpus: 1, memoryGiB: 0.125, pinned: true },
      ],
      images: [{ name: 'debian', at: { b: `${IMAGES}/debian-copy.qcow2` } }],
    }),
  );
  const graph = talkGraph(join(dir, `graph-${vms.join('-')}.json`), vms, 'y');
  const r = runCli(['plan', '-g', graph, '-c', clouds, '--json', '--horizon', '30d']);
  assert.equal(r.status, 0, r.stderr);
  const plan = join(dir, `plan-${vms.join('-')}.json`);
  writeFileSync(plan, r.stdout);
  const moves = (JSON.parse(r.stdout) as { moves: { vm: string; toHost: string }[] }).moves;
  assert.deepEqual(
    moves.map((m) => [m.vm, m.toHost]).sort(),
    vms.map((vm) => [vm, 'h2']),
  );
  return { plan, clouds };
}

function execute(args: string[]): ChildProcess & { done: Promise<{ status: number | null; out: string }> } {
  const child = spawn('node', [CLI, 'execute', '--driver', 'libvirt', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const done = new Promise<{ status: number | null; out: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, out })),
  );
  return Object.assign(child, { done });
}

const state = (host: LibvirtHost, vm: string) =>
  spawnSync('virsh', ['-c', host.uri, 'domstate', vm], { encoding: 'utf8' }).stdout.trim() || 'absent';

/** The VM's disk at h2, read after stopping it there: base, own data and counter, as the guest left them. */
function checkDiskAtH2(vm: string, counterAtLeast: number): void {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '-U', '--output=json', join(h2.images, `${vm}.qcow2`)], {
      encoding: 'utf8',
    }),
  ) as { 'backing-filename'?: string };
  assert.equal(info['backing-filename'], `${IMAGES}/debian-copy.qcow2`, `${vm} is re-based on h2's copy`);
  h2.virsh('destroy', vm);
  // qemu-img resolves the backing path as the host sees it: read through a copy whose backing is h2's file.
  const view = join(dir, `${vm}-view.qcow2`);
  copyFileSync(join(h2.images, `${vm}.qcow2`), view);
  execFileSync('qemu-img', ['rebase', '-u', '-b', join(h2.images, 'debian-copy.qcow2'), '-F', 'qcow2', view]);
  const disk = diskContent(view);
  assert.ok(disk.subarray(0, 16 * MIB).equals(baseData), `${vm}: the base's blocks, from h2's copy`);
  assert.ok(disk.subarray(OWN_AT, OWN_AT + 2 * MIB).equals(own.get(vm) as Buffer), `${vm}: its own blocks`);
  assert.ok(diskCounter(disk) >= counterAtLeast, `${vm}: the counter it wrote after the move`);
}

describe('sky-plan inventory and execute --driver libvirt on two real libvirt hosts', () => {
  const inventory = () => join(dir, 'inventory.yaml');
  const readInventory = (...extra: string[]) =>
    runCli(['inventory', '--libvirt', h1.uri, h2.uri, '--cloud', 'h1=a', '--cloud', 'h2=b', ...extra]);

  it('inventory --libvirt reads the domains back as they were defined, the same each time', async () => {
    await startOnH1('vm1');
    await startOnH1('vm2');
    const r = readInventory('-o', inventory());
    assert.equal(r.status, 0, r.stderr);
    const inv = await loadInventory(inventory());
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.cloud, h.libvirt?.uri]),
      [
        ['h1', 'a', h1.uri],
        ['h2', 'b', h2.uri],
      ],
    );
    assert.ok((inv.hosts[0]?.capacity?.vcpus ?? 0) >= 1, 'capacity from nodeinfo');
    assert.deepEqual(
      inv.vms.map((vm) => [vm.name, vm.host, vm.vcpus, vm.memoryGiB]),
      [
        ['vm1', 'h1', 1, 0.125],
        ['vm2', 'h1', 1, 0.125],
      ],
    );
    for (const vm of inv.vms) {
      const [disk] = vm.disks;
      assert.equal(vm.disks.length, 1);
      assert.equal(disk?.device, 'vda');
      assert.equal(disk?.path, `${IMAGES}/${vm.name}.qcow2`);
      assert.equal(disk?.format, 'qcow2');
      assert.equal(disk?.virtualBytes, 64 * MIB);
      assert.ok((disk?.allocatedBytes ?? 0) >= 2 * MIB, 'its own 2 MiB at least');
      assert.deepEqual(disk?.backing, [`${IMAGES}/debian.qcow2`]);
    }
    const first = readFileSync(inventory(), 'utf8');
    const again = readInventory('-o', inventory());
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /inventory\.yaml: unchanged/);
    assert.equal(readFileSync(inventory(), 'utf8'), first);
    assert.equal(readInventory().stdout, first, 'the same on stdout');
  });

  it('moves two VMs at once, live, disks included, onto the destination host chosen by the plan', async () => {
    const { plan, clouds } = planMoves(['vm1', 'vm2'], 1000);
    const before = Math.max(...['vm1', 'vm2'].map((vm) => serialTicks(serial(vm)).at(-1) ?? 0));
    const run = await execute(['--plan', plan, '--clouds', clouds]).done;
    assert.equal(run.status, 0, run.out);
    const events = run.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const waves = events.filter((e) => e.type === 'wave');
    assert.equal(waves.length, 1, 'both in one wave: concurrent migrations into one host');
    for (const vm of ['vm1', 'vm2']) {
      assert.equal(state(h2, vm), 'running', `${vm} runs on h2`);
      assert.equal(state(h1, vm), 'absent', `${vm} is undefined on h1`);
      assert.ok(await ticksPast(serial(vm), before), `${vm} goes on counting after the move`);
    }
    const last = serialTicks(serial('vm1')).at(-1) ?? 0;
    for (const vm of ['vm1', 'vm2']) checkDiskAtH2(vm, vm === 'vm1' ? last : before);
  });

  it('--dedup: memory and disks cross through the tunnel, the second VM mostly as hashes', async (t) => {
    const pskFile = join(dir, 'psk');
    writeFileSync(pskFile, `${'ab'.repeat(32)}\n`);
    const dest = await startTunnelDest(join(dir, 'store'), pskFile, ['127.0.0.2']);
    try {
      const reports: Record<
        string,
        { streamBytes: number; wanBytes: number; pagesRef: number; disks?: { streamBytes: number } }
      > = {};
      for (const vm of ['vm8', 'vm9']) {
        await startOnH1(vm);
        const { plan, clouds } = planMoves([vm], 1000, { dest: `127.0.0.1:${dest.port}`, pskFile });
        const before = serialTicks(serial(vm)).at(-1) ?? 0;
        const run = await execute(['--plan', plan, '--clouds', clouds, '--dedup']).done;
        assert.equal(run.status, 0, run.out);
        const done = run.out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l))
          .find((e) => e.type === 'done' && e.vm === vm);
        assert.ok(done?.dedup !== undefined, `${vm}: the tunnel's counters`);
        reports[vm] = done.dedup;
        assert.equal(state(h2, vm), 'running', `${vm} runs on h2`);
        assert.ok(await ticksPast(serial(vm), before), `${vm} goes on counting after the move`);
        checkDiskAtH2(vm, before);
      }
      const [first, second] = [reports.vm8, reports.vm9];
      t.diagnostic(`tunnel counters: ${JSON.stringify(reports)}`);
      // Each overlay's own 2 MiB crossed by NBD through the tunnel (new random data: as content).
      for (const r of [first, second]) assert.ok((r?.disks?.streamBytes ?? 0) >= 2 * MIB, JSON.stringify(r));
      // The second guest's memory is the same kernel and programs: pages the store holds from the first.
      assert.ok((second?.pagesRef ?? 0) > 0, JSON.stringify(second));
      assert.ok((second?.wanBytes ?? 0) < 0.5 * (second?.streamBytes ?? 0), JSON.stringify(second));
    } finally {
      dest.process.kill();
    }
  });

  it('the script driver writes the same moves: run, it moves the VM live and sums up', async () => {
    await startOnH1('vm4');
    const { plan, clouds } = planMoves(['vm4'], 1000);
    const script = join(dir, 'migrate.sh');
    const r = writeScript(plan, clouds, script);
    assert.equal(r.status, 0, r.stderr);
    const before = serialTicks(serial('vm4')).at(-1) ?? 0;
    const run = spawnSync('sh', [script], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /summary:\n {2}vm4: a \(h1\) → b \(h2\): done/);
    assert.equal(state(h2, 'vm4'), 'running');
    assert.equal(state(h1, 'vm4'), 'absent');
    assert.ok(await ticksPast(serial('vm4'), before));
    checkDiskAtH2('vm4', before);
  });

  it('a run killed mid-migration leaves the VM running at its source; resumed, it moves it', async () => {
    await startOnH1('vm3');
    // 64 Mbit/s: --bandwidth 8 MiB/s, so the memory takes seconds to cross and the kill lands midway (at
    // 2 MiB/s the resumed migration took up to 220 s to converge).
    const { plan, clouds } = planMoves(['vm3'], 64);
    const journal = join(dir, 'vm3.journal');
    const run = execute(['--plan', plan, '--clouds', clouds, '--journal', journal]);
    for (let i = 0; i < 300; i++) {
      const job = spawnSync('virsh', ['-c', h1.uri, 'domjobinfo', 'vm3', '--rawstats'], { encoding: 'utf8' });
      if (/^memory_processed: [1-9]/m.test(job.stdout)) break;
      await sleep(100);
    }
    process.kill(-(run.pid as number), 'SIGKILL');
    await run.done;
    let source = '';
    for (let i = 0; i < 100 && source !== 'running'; i++) {
      source = state(h1, 'vm3');
      await sleep(200);
    }
    assert.equal(source, 'running', 'the source runs again');
    assert.notEqual(state(h2, 'vm3'), 'running', 'and the destination does not run it');
    const at = serialTicks(serial('vm3')).at(-1) ?? 0;
    assert.ok(await ticksPast(serial('vm3'), at), 'the guest at the source goes on');
    const resumed = await execute(['--plan', plan, '--clouds', clouds, '--resume', journal]).done;
    assert.equal(resumed.status, 0, resumed.out);
    assert.match(resumed.out, /"type":"reconciled","vm":"vm3","at":"a"/);
    // At 8 MiB/s the move takes seconds: long enough for domjobinfo to be read while it runs (the
    // two-VM move at full speed can end before the first reading).
    const progress = resumed.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; total?: number; transferred?: number })
      .filter((e) => e.type === 'progress');
    assert.ok(
      progress.some((e) => (e.total ?? 0) > 64 * MIB && (e.transferred ?? 0) > 0),
      `progress from domjobinfo: ${JSON.stringify(progress)}`,
    );
    assert.equal(state(h2, 'vm3'), 'running');
    assert.equal(state(h1, 'vm3'), 'absent');
    assert.ok(existsSync(join(h2.images, 'vm3.qcow2')));
    checkDiskAtH2('vm3', at);
  });
  it('a migration that stops moving is aborted (domjobabort) after 30 s: the source runs on, nothing is left at the destination', async () => {
    await startOnH1('vm7');
    const { plan, clouds } = planMoves(['vm7'], 16);
    const run = execute(['--plan', plan, '--clouds', clouds]);
    for (let i = 0; i < 300; i++) {
      const job = spawnSync('virsh', ['-c', h1.uri, 'domjobinfo', 'vm7', '--rawstats'], { encoding: 'utf8' });
      if (/^data_processed: [1-9]/m.test(job.stdout)) break;
      await sleep(100);
    }
    // The destination QEMU freezes: the stream backs up and the job's counters stop.
    const destination = spawnSync('pgrep', ['-f', 'guest=vm7.*-incoming'], {
      encoding: 'utf8',
    }).stdout.trim();
    assert.match(destination, /^\d+$/, 'one destination QEMU');
    process.kill(Number(destination), 'SIGSTOP');
    // libvirt finishes an aborted job only once the destination QEMU answers again: thawed well after the
    // 30 s without progress that make the driver abort.
    const thaw = setTimeout(() => spawnSync('kill', ['-CONT', destination]), 45_000);
    try {
      const { status, out } = await run.done;
      assert.equal(status, 4, out);
      assert.match(out, /vm7: no progress for 30 s: aborted \(domjobabort\)/);
    } finally {
      clearTimeout(thaw);
      spawnSync('kill', ['-CONT', destination]);
    }
    assert.equal(state(h1, 'vm7'), 'running', 'the source runs on');
    assert.notEqual(state(h2, 'vm7'), 'running');
    assert.equal(existsSync(join(h2.images, 'vm7.qcow2')), false, 'its destination volume is gone');
    const at = serialTicks(serial('vm7')).at(-1) ?? 0;
    assert.ok(await ticksPast(serial('vm7'), at), 'the guest goes on at the source');
  });

  it('capture --libvirt finds the taps libvirt made and counts each frame once, on its sender’s tap', async () => {
    // A hub (as in the capture tests): every frame crosses both taps and the bridge device.
    const bridge = 'sklvbr0';
    spawnSync('ip', ['link', 'del', bridge]);
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge', 'ageing_time', '0', 'mcast_snooping', '0']);
    writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
    execFileSync('ip', ['link', 'set', bridge, 'up']);
    try {
      const macs = { vm5: '52:54:00:5e:00:05', vm6: '52:54:00:5e:00:06' };
      for (const [vm, mac] of Object.entries(macs)) await startOnH1(vm, { bridge, mac });
      const out = join(dir, 'windows');
      const truthPcap = join(dir, 'bridge.pcap');
      const truth = spawn('tcpdump', ['-i', bridge, '--immediate-mode', '-U', '-w', truthPcap], {
        stdio: 'ignore',
      });
      await sleep(500);
      const capture = new Background([
        'capture',
        '--libvirt',
        h1.uri,
        '--libvirt-every',
        '1s',
        '-i',
        bridge,
        '--window',
        '1s',
        '--host',
        'h1',
        '--out',
        out,
      ]);
      await capture.waitFor(/capturing on/);
      await sleep(1000);
      // QEMU announces each NIC with RARP frames (five rounds): frames the VM's NIC sends, at no cost to the guest.
      for (const vm of Object.keys(macs)) h1.virsh('qemu-monitor-command', vm, '--hmp', 'announce_self');
      await sleep(3000);
      assert.equal(await capture.stop(), 0, capture.stderr);
      truth.kill('SIGINT');
      await new Promise((r) => truth.on('exit', r));
      const { docs } = readWindowFiles(out);
      const tapOf = (vm: string) =>
        [...h1.virsh('domiflist', vm).matchAll(/^\s*(vnet\d+)\s/gm)].map((m) => m[1]);
      const vnets = [...tapOf('vm5'), ...tapOf('vm6')];
      assert.equal(vnets.length, 2, vnets.join(' '));
      const listed = join(dir, 'taps.yaml');
      const read = runCli(['inventory', '--libvirt', h1.uri, '--cloud', 'h1=a', '-o', listed]);
      assert.equal(read.status, 0, read.stderr);
      const nics = (await loadInventory(listed)).vms.filter((vm) => vm.name in macs).map((vm) => vm.nics);
      assert.deepEqual(
        nics.map((n) => n.map((nic) => [nic.mac, nic.bridge, nic.tap])),
        ['vm5', 'vm6'].map((vm) => [[macs[vm as keyof typeof macs], bridge, tapOf(vm)[0]]]),
        'each NIC with its bridge and the tap libvirt made for it',
      );
      assert.deepEqual(
        docs
          .at(-1)
          ?.interfaces.map((i) => i.name)
          .sort(),
        [bridge, ...vnets].sort(),
        'the bridge and both taps, as libvirt named them',
      );
      const file = JSON.parse(runCli(['analyze', truthPcap, '--json']).stdout) as {
        captures: { stats: { frames: number } }[];
      };
      const onBridge = file.captures[0]?.stats.frames ?? 0;
      assert.ok(onBridge >= 10, `${onBridge} frames on the bridge`);
      assert.equal(docs.at(-1)?.decode.frames, onBridge, 'each frame counted once');
      const announced = docs.flatMap((d) => d.announcements).map(([, mac]) => mac);
      for (const mac of Object.values(macs))
        assert.equal(announced.filter((m) => m === mac).length, 5, `${mac}'s five announcements, once each`);
    } finally {
      for (const vm of ['vm5', 'vm6']) spawnSync('virsh', ['-c', h1.uri, 'destroy', vm]);
      spawnSync('ip', ['link', 'del', bridge]);
    }
  });

  it('inventory --libvirt onto the last one says what changed: where each VM runs now', () => {
    const r = readInventory('-o', inventory());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /~ vm1: .*host h1 → h2/);
    assert.match(r.stdout, /~ vm2: .*host h1 → h2/);
    assert.match(r.stdout, /\+ vm3\n/);
    assert.match(r.stdout, /\+ vm4\n/);
  });
});
