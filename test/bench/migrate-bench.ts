import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { textTable } from '../../src/text-format.js';
import { CLI, executeQmp, ROOT, runCli, tempDir } from '../helpers.js';
import { buildGuest, type Guest, qemuCommand, writeLaunchScript } from '../qemu/guest.js';

/**
 * `npm run bench:migrate`: four VMs of one base image (1 GiB virtual disks, 300 MB of data in the base,
 * 32 MiB of each VM's own) move one after another from cloud a into cloud b over a 25 MB/s link: a veth
 * pair into a network namespace where cloud b's QEMUs and tunnel run, shaped with tc (tbf, both ways).
 * Two cases: the base image is not in b (`sync: full`) or it is (`sync: top`); each plain (QEMU's NBD
 * mirror and migration stream, straight over the link) and through the dedup tunnel (`--dedup`). WAN
 * bytes are the bytes on the link both ways, TCP/IP included in both, so the two modes compare like for
 * like. The guests read 64 MiB of their disk at boot: those pages in their page cache equal disk blocks.
 * `--case full|top` runs one case.
 */
const MIB = 1 << 20;
const VMS = ['m1', 'm2', 'm3', 'm4'];
const BASE_BYTES = 300e6;
const OWN_BYTES = 32 * MIB;
const RATE = '200mbit'; // 25 MB/s
const NETNS = 'skybench';
const [A_IF, B_IF] = ['skybench-a', 'skybench-b'];
const [A_IP, B_IP] = ['10.77.0.1', '10.77.0.2'];
const TUNNEL_PORT = 49160;

const ipCmd = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNetns = (...args: string[]) => ipCmd('netns', 'exec', NETNS, ...args);

function setUpLink(): void {
  tearDownLink();
  ipCmd('netns', 'add', NETNS);
  ipCmd('link', 'add', A_IF, 'type', 'veth', 'peer', 'name', B_IF);
  ipCmd('link', 'set', B_IF, 'netns', NETNS);
  ipCmd('addr', 'add', `${A_IP}/24`, 'dev', A_IF);
  ipCmd('link', 'set', A_IF, 'up');
  inNetns('ip', 'addr', 'add', `${B_IP}/24`, 'dev', B_IF);
  inNetns('ip', 'link', 'set', B_IF, 'up');
  inNetns('ip', 'link', 'set', 'lo', 'up');
  const tbf = ['root', 'tbf', 'rate', RATE, 'burst', '256kb', 'latency', '200ms'];
  execFileSync('tc', ['qdisc', 'add', 'dev', A_IF, ...tbf], { stdio: 'pipe' });
  inNetns('tc', 'qdisc', 'add', 'dev', B_IF, ...tbf);
}

function tearDownLink(): void {
  spawnSync('ip', ['link', 'del', A_IF], { stdio: 'ignore' });
  spawnSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
}

/** Bytes on the link so far, both ways. */
function linkBytes(): number {
  const stat = (name: string) => Number(readFileSync(`/sys/class/net/${A_IF}/statistics/${name}`, 'utf8'));
  return stat('tx_bytes') + stat('rx_bytes');
}

function writeRandom(image: string, offset: number, length: number): void {
  const file = `${image}.data`;
  writeFileSync(file, randomBytes(length));
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -s ${file} ${offset} ${length}`, image], {
    stdio: 'pipe',
  });
}

interface Run {
  vm: string;
  wanBytes: number;
  seconds: number;
  handshakeBytes: number;
  memoryRefs: number;
}

async function runCase(guest: Guest, base: string, atB: boolean, dedup: boolean): Promise<Run[]> {
  const dir = tempDir();
  for (const c of ['a', 'b']) mkdirSync(join(dir, c));
  const baseA = join(dir, 'a', 'base.qcow2');
  copyFileSync(base, baseA);
  if (atB) copyFileSync(base, join(dir, 'b', 'base.qcow2'));
  const qemus: Promise<void>[] = [];
  VMS.forEach((vm, i) => {
    const disk = join(dir, 'a', `${vm}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', baseA, '-F', 'qcow2', disk]);
    writeRandom(disk, 400 * MIB, OWN_BYTES);
    const mac = `52:54:00:00:02:${(i + 1).toString(16).padStart(2, '0')}`;
    writeFileSync(join(dir, `${vm}.mac`), mac);
    const [cmd, ...args] = qemuCommand(guest, {
      qmp: join(dir, 'a', `${vm}.qmp`),
      serial: join(dir, 'a', `${vm}.serial`),
      mac,
      announcePort: 9,
      disk,
      readDisk: true,
    }) as [string, ...string[]];
    spawn(cmd, args, { detached: true, stdio: 'ignore' }).unref();
    qemus.push(booted(join(dir, 'a', `${vm}.serial`)));
  });
  await Promise.all(qemus);
  // Cloud b's QEMUs run in the namespace: everything from a crosses the shaped link.
  const launch = writeLaunchScript(guest, dir, {
    announcePort: 9,
    disk: true,
    prefix: `ip netns exec ${NETNS}`,
  });
  const settings = {
    socket: `${dir}/{cloud}/{vm}.qmp`,
    launch: `sh ${launch} {vm} {cloud} {socket} {disks}`,
    disk: `${dir}/{cloud}/{vm}-{device}.qcow2`,
  };
  const psk = join(dir, 'psk');
  writeFileSync(psk, randomBytes(32).toString('hex'));
  const inventory = join(dir, 'inventory.json');
  writeFileSync(
    inventory,
    JSON.stringify({
      clouds: [
        { name: 'a', compute: { vmHour: 1 }, egress: { default: 0.09 }, qmp: settings },
        {
          name: 'b',
          compute: { vmHour: 0.1 },
          egress: { default: 0.09 },
          qmp: { ...settings, listen: B_IP, port: 49152, nbdPort: 49153 },
          tunnel: { dest: `${B_IP}:${TUNNEL_PORT}`, pskFile: psk },
        },
      ],
      vms: VMS.map((vm) => ({
        name: vm,
        cloud: 'a',
        memoryGiB: 0.125,
        image: 'base',
        disks: [{ device: 'vda', path: join(dir, 'a', `${vm}.qcow2`) }],
      })),
      images: [{ name: 'base', ...(atB ? { at: { b: join(dir, 'b', 'base.qcow2') } } : {}) }],
    }),
  );
  const graph = join(dir, 'graph.json');
  writeFileSync(
    graph,
    JSON.stringify({
      schema: 'sky-plan/graph@1',
      timeRange: { seconds: 60 },
      nodes: [...VMS.map((id) => ({ id, kind: 'vm' })), { id: 'y', kind: 'vm', cloud: 'b' }],
      edges: VMS.map((source) => ({ source, target: 'y', bytes: 6e9 })),
    }),
  );
  const plan = join(dir, 'plan.json');
  const planned = runCli(['plan', '-g', graph, '-c', inventory, '-o', plan]);
  if (planned.status !== 0) throw new Error(planned.stderr);
  let tunnel: ChildProcess | undefined;
  const tunnelLog = join(dir, 'tunnel-dest.log');
  if (dedup) {
    tunnel = spawn(
      'ip',
      [
        'netns',
        'exec',
        NETNS,
        process.execPath,
        CLI,
        'tunnel',
        'dest',
        '--listen',
        `${B_IP}:${TUNNEL_PORT}`,
        '--store',
        join(dir, 'b', 'store'),
        '--psk-file',
        psk,
        '--allow-forward',
        B_IP,
      ],
      // Its log goes to a file in the case's directory: a pipe nobody reads would block it.
      { cwd: ROOT, stdio: ['ignore', openSync(tunnelLog, 'w'), 'inherit'] },
    );
    for (let i = 0; i < 100 && readFileSync(tunnelLog, 'utf8') === ''; i++) await sleep(100);
  }
  const runs: Run[] = [];
  let before = 0;
  try {
    const one = ['--max-per-source', '1', '--max-per-dest', '1', '--max-per-link', '1'];
    const args = ['--plan', plan, '--clouds', inventory, ...one, ...(dedup ? ['--dedup'] : [])];
    const code = await executeQmp(args, (e) => {
      if (e.type === 'start') before = linkBytes();
      if (e.type !== 'done') return;
      process.stderr.write(`  ${dir}: ${e.vm} done in ${(e.seconds as number).toFixed(1)} s\n`);
      const d = e.dedup as
        | { handshakeBytes?: number; pagesRef?: number; disks?: { handshakeBytes?: number } }
        | undefined;
      runs.push({
        vm: e.vm as string,
        wanBytes: linkBytes() - before,
        seconds: e.seconds as number,
        handshakeBytes: (d?.handshakeBytes ?? 0) + (d?.disks?.handshakeBytes ?? 0),
        memoryRefs: d?.pagesRef ?? 0,
      });
    });
    if (code !== 0) throw new Error(`execute exited ${code}`);
  } finally {
    tunnel?.kill('SIGKILL');
    spawnSync('pkill', ['-9', '-f', dir]);
    rmSync(dir, { recursive: true, force: true }); // eight 1 GiB-disk images a case
  }
  return runs;
}

async function booted(serial: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if (/tick 2/.test(readFileSync(serial, 'latin1'))) return;
    } catch {
      // not created yet
    }
    await sleep(100);
  }
  throw new Error(`${serial}: the guest did not boot`);
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

setUpLink();
try {
  const guest = buildGuest();
  const base = join(tempDir(), 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, String(1 << 30)]);
  writeRandom(base, 0, BASE_BYTES);
  process.stdout.write(
    `4 VMs in sequence a → b over ${RATE} (25 MB/s); base ${mb(BASE_BYTES)} of a 1 GiB disk, ${mb(OWN_BYTES)} of each VM's own; WAN bytes both ways on the link\n`,
  );
  const only = process.argv[process.argv.indexOf('--case') + 1];
  for (const [name, atB] of [
    ['full', false],
    ['top', true],
  ] as const) {
    if (process.argv.includes('--case') && only !== name) continue;
    const plain = await runCase(guest, base, atB, false);
    const dedup = await runCase(guest, base, atB, true);
    const rows: string[][] = [];
    for (const [mode, runs] of [
      ['plain', plain],
      ['dedup', dedup],
    ] as const) {
      const rest = runs.slice(1);
      rows.push([
        name,
        mode,
        mb(runs[0]?.wanBytes ?? 0),
        `${(runs[0]?.seconds ?? 0).toFixed(1)} s`,
        mb(sum(rest.map((r) => r.wanBytes))),
        `${sum(rest.map((r) => r.seconds)).toFixed(1)} s`,
        mb(sum(runs.map((r) => r.wanBytes))),
        `${sum(runs.map((r) => r.seconds)).toFixed(1)} s`,
        `${(sum(runs.map((r) => r.handshakeBytes)) / 1e3).toFixed(1)} kB`,
        String(runs[0]?.memoryRefs ?? 0),
      ]);
    }
    const restBytes = (rs: Run[]) => sum(rs.slice(1).map((r) => r.wanBytes));
    const restTime = (rs: Run[]) => sum(rs.slice(1).map((r) => r.seconds));
    const bytes2to4 = restBytes(dedup) / restBytes(plain);
    const time2to4 = restTime(dedup) / restTime(plain);
    const all = sum(dedup.map((r) => r.wanBytes)) / sum(plain.map((r) => r.wanBytes));
    const saved = sum(plain.map((r) => r.wanBytes)) - sum(dedup.map((r) => r.wanBytes));
    const handshake = sum(dedup.map((r) => r.handshakeBytes));
    process.stdout.write(
      `${textTable(['case', 'mode', 'VM 1', 'time', 'VMs 2-4', 'time', 'all 4', 'time', 'handshake', 'VM 1 memory refs'], rows)}\n`,
    );
    process.stdout.write(
      `  ${name}: VMs 2-4 ${(100 * bytes2to4).toFixed(1)}% of plain's bytes (target ${name === 'full' ? '15' : '40'}%), ${time2to4.toFixed(2)}x its time${name === 'full' ? ' (target 0.3x)' : ''}; all four ${(100 * all).toFixed(1)}%${name === 'full' ? ' (target 35%)' : ''}; handshake ${((100 * handshake) / Math.max(1, saved)).toFixed(3)}% of the bytes saved (target 1%)\n\n`,
    );
  }
} finally {
  tearDownLink();
}
