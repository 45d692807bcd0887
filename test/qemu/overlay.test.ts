// @integration: needs root, QEMU, iproute2
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { executeQmp, runCli, talkGraph, tempDir } from '../helpers.js';
import {
  buildGuest,
  ECHO_PORT,
  type Guest,
  holdQemuLock,
  qemuCommand,
  releaseQemuLock,
  ticksPast,
  writeLaunchScript,
} from './guest.js';

const tag = String(process.pid % 10000);
const NS = { a: `skova${tag}`, b: `skovb${tag}`, peer: `skovp${tag}` };
const VTEP = { a: '10.99.0.1', b: '10.99.0.2' };
const GUEST = { ip: '10.98.0.10', mac: '52:54:00:98:00:10' };
const PEER = { ip: '10.98.0.20', mac: '52:54:00:98:00:20' };
const MIGRATION_PORT = 49710;

let guest: Guest;
let dir: string;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const inNs = (ns: string, ...command: string[]) =>
  execFileSync('ip', ['netns', 'exec', ns, ...command], { stdio: 'pipe' });

/**
 * Two clouds, each a hypervisor namespace with a bridge, joined by a VXLAN overlay (VNI 42) over an
 * underlay veth; a peer in cloud a on its bridge. Each hypervisor has a tap for the guest (tap0). With
 * `learning`, the bridges and the VXLAN learn where MACs are (QEMU's announcement after the move
 * teaches them). Without it, forwarding is static, as with EVPN or static VXLAN FDBs: unknown unicast
 * is not flooded, and where the guest is must be written into both clouds' tables.
 */
function topology(learning: boolean): void {
  teardown();
  for (const ns of Object.values(NS)) {
    ip('netns', 'add', ns);
    inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  ip('link', 'add', `sku${tag}`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', `skv${tag}`, 'netns', NS.b);
  for (const [side, ns, dev] of [
    ['a', NS.a, `sku${tag}`],
    ['b', NS.b, `skv${tag}`],
  ] as const) {
    const other = side === 'a' ? VTEP.b : VTEP.a;
    // Room for VXLAN's 50 bytes under a 1500-byte guest frame, as on a real underlay: a connection set
    // up with a 1460-byte MSS inside one cloud must not stall when its path starts crossing the overlay.
    inNs(ns, 'ip', 'link', 'set', dev, 'mtu', '1550');
    // Room for VXLAN's 50 bytes under a 1500-byte guest frame, as on a real underlay: a connection set
    // up with a 1460-byte MSS inside one cloud must not stall once its path crosses the overlay.
    inNs(ns, 'ip', 'link', 'set', dev, 'mtu', '1550');
    inNs(ns, 'ip', 'addr', 'add', `${VTEP[side]}/24`, 'dev', dev);
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
    inNs(ns, 'ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    inNs(
      ns,
      'ip',
      'link',
      'add',
      'vx0',
      'mtu',
      '1500',
      'type',
      'vxlan',
      'id',
      '42',
      'local',
      VTEP[side],
      'dstport',
      '4789',
      'dev',
      dev,
      ...(learning ? [] : ['nolearning']),
    );
    // Broadcast and multicast (ARP) go to the other VTEP; with learning, unknown unicast too.
    inNs(ns, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', other);
    inNs(ns, 'ip', 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
    for (const port of ['vx0', 'tap0']) {
      inNs(ns, 'ip', 'link', 'set', port, 'master', 'br0', 'up');
      if (!learning) inNs(ns, 'bridge', 'link', 'set', 'dev', port, 'learning', 'off', 'flood', 'off');
    }
    inNs(ns, 'ip', 'link', 'set', 'br0', 'up');
  }
  ip('link', 'add', `skp${tag}`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.peer);
  inNs(NS.a, 'ip', 'link', 'set', `skp${tag}`, 'master', 'br0', 'up');
  if (!learning) inNs(NS.a, 'bridge', 'link', 'set', 'dev', `skp${tag}`, 'learning', 'off', 'flood', 'off');
  inNs(NS.peer, 'ip', 'link', 'set', 'eth0', 'address', PEER.mac);
  inNs(NS.peer, 'ip', 'addr', 'add', `${PEER.ip}/24`, 'dev', 'eth0');
  inNs(NS.peer, 'ip', 'link', 'set', 'eth0', 'up');
  if (learning) return;
  // The tables as an operator's controller writes them: the guest on a's tap0, the peer on a's port.
  const fdb = (ns: string, mac: string, dev: string, dst?: string) => {
    inNs(ns, 'bridge', 'fdb', 'replace', mac, 'dev', dev, 'master', 'static');
    if (dst !== undefined) inNs(ns, 'bridge', 'fdb', 'replace', mac, 'dev', dev, 'dst', dst);
  };
  fdb(NS.a, GUEST.mac, 'tap0');
  fdb(NS.a, PEER.mac, `skp${tag}`);
  fdb(NS.b, GUEST.mac, 'vx0', VTEP.a);
  fdb(NS.b, PEER.mac, 'vx0', VTEP.a);
}

function teardown(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
}

before(async () => {
  await holdQemuLock();
  guest = buildGuest();
  dir = tempDir();
  for (const c of ['a', 'b']) mkdirSync(join(dir, c));
  writeFileSync(join(dir, 'vm.mac'), GUEST.mac);
});

after(() => {
  for (const child of Peer.running) child.kill('SIGKILL');
  spawnSync('pkill', ['-9', '-f', dir]);
  teardown();
  releaseQemuLock();
});

/**
 * The peer's side of a TCP connection to the guest's echo server: it sends 512 bytes every 20 ms and
 * counts what comes back. On SIGTERM it prints what it sent and received, the longest gap between two
 * echoes (the blackout as the peer lives it) and any error (a reset would be one).
 */
const PEER_PROGRAM = `
const s = require('net').connect(${ECHO_PORT}, '${GUEST.ip}');
let sent = 0, received = 0, last = 0, maxGapMs = 0, error = null, closed = false;
s.on('connect', () => setInterval(() => { s.write(Buffer.alloc(512, 120)); sent += 512; }, 20));
s.on('data', (d) => {
  const now = Date.now();
  if (last > 0) maxGapMs = Math.max(maxGapMs, now - last);
  last = now;
  received += d.length;
});
s.on('error', (e) => { error = e.code || e.message; });
s.on('close', () => { closed = true; });
setInterval(() => process.stdout.write('received ' + received + '\\n'), 100);
process.on('SIGTERM', () => { process.stdout.write(JSON.stringify({ sent, received, maxGapMs, error, closed }) + '\\n'); process.exit(0); });
`;

interface PeerReport {
  sent: number;
  received: number;
  maxGapMs: number;
  error: string | null;
  closed: boolean;
}

class Peer {
  /** Peers still running, killed when the tests end however they end. */
  static readonly running = new Set<ChildProcess>();
  private readonly child: ChildProcess;
  private out = '';

  constructor() {
    this.child = spawn('ip', ['netns', 'exec', NS.peer, process.execPath, '-e', PEER_PROGRAM], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child.stdout?.on('data', (c: Buffer) => {
      this.out += c.toString();
    });
    Peer.running.add(this.child);
    this.child.on('exit', () => Peer.running.delete(this.child));
  }

  get received(): number {
    return Number([...this.out.matchAll(/^received (\d+)$/gm)].at(-1)?.[1] ?? 0);
  }

  /** Waits until the echoes have grown past `bytes`; false after `seconds`. */
  async past(bytes: number, seconds: number): Promise<boolean> {
    for (let i = 0; i < seconds * 10; i++) {
      if (this.received > bytes) return true;
      await sleep(100);
    }
    return false;
  }

  async stop(): Promise<PeerReport> {
    const exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
    const line = this.out.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line !== undefined, `the peer's report: ${this.out.slice(-200)}`);
    return JSON.parse(line) as PeerReport;
  }
}

/** The guest in cloud a on tap0, its plan to b and the clouds spec: QEMU in the hypervisors' namespaces. */
async function setUp(name: string, overlay?: object): Promise<{ plan: string; clouds: string }> {
  // The previous test's guest printed there: its ticks must not pass for this one booting.
  for (const cloud of ['a', 'b']) rmSync(join(dir, cloud, 'vm.serial'), { force: true });
  const [cmd, ...args] = qemuCommand(guest, {
    qmp: join(dir, 'a', 'vm.qmp'),
    serial: join(dir, 'a', 'vm.serial'),
    mac: GUEST.mac,
    tap: 'tap0',
    net: `${GUEST.ip}/24`,
  }) as [string, ...string[]];
  spawn('ip', ['netns', 'exec', NS.a, cmd, ...args], { detached: true, stdio: 'ignore' }).unref();
  let booted = false;
  for (let i = 0; i < 6 && !booted; i++) booted = await ticksPast(join(dir, 'a', 'vm.serial'), 2);
  assert.ok(booted, 'the guest boots');
  const launch = writeLaunchScript(guest, dir, {
    tap: 'tap0',
    net: `${GUEST.ip}/24`,
    prefix: `ip netns exec ${NS.b}`,
  });
  const qmp = (cloud: string) => ({
    socket: `${dir}/{cloud}/{vm}.qmp`,
    launch: `sh ${launch} {vm} {cloud} {socket}`,
    ...(cloud === 'b' ? { listen: VTEP.b, port: MIGRATION_PORT } : {}),
  });
  const clouds = join(dir, `${name}-clouds.json`);
  writeFileSync(
    clouds,
    JSON.stringify({
      clouds: ['a', 'b'].map((cloud) => ({
        name: cloud,
        compute: { vmHour: cloud === 'a' ? 1 : 0.1 },
        egress: { default: 0.09 },
        qmp: qmp(cloud),
        ...(overlay === undefined ? {} : { overlay: (overlay as Record<string, object>)[cloud] }),
      })),
      vms: [
        { name: 'vm', cloud: 'a', vcpus: 1, memoryGiB: 0.125, nics: [{ mac: GUEST.mac, ips: [GUEST.ip] }] },
        { name: 'y1', cloud: 'b', vcpus: 1, memoryGiB: 0.125, pinned: true },
      ],
    }),
  );
  const graph = talkGraph(join(dir, `${name}-graph.json`), ['vm'], 'y1');
  const plan = join(dir, `${name}-plan.json`);
  const r = runCli(['plan', '--graph', graph, '--clouds', clouds, '--out', plan]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    (JSON.parse(readFileSync(plan, 'utf8')) as { moves: { vm: string }[] }).moves.map((m) => m.vm),
    ['vm'],
  );
  return { plan, clouds };
}

/** Moves the guest with a connection open from the peer: the connection must live on, every byte echoed. */
async function moveWithPeer(plan: string, clouds: string): Promise<PeerReport & { warnings: string[] }> {
  const peer = new Peer();
  try {
    return await measure(peer, plan, clouds);
  } finally {
    for (const child of Peer.running) child.kill('SIGKILL');
    spawnSync('pkill', ['-9', '-f', dir]);
  }
}

async function measure(
  peer: Peer,
  plan: string,
  clouds: string,
): Promise<PeerReport & { warnings: string[] }> {
  assert.ok(await peer.past(4096, 20), 'the guest echoes before the move');
  const warnings: string[] = [];
  const code = await executeQmp(['--plan', plan, '--clouds', clouds], (e) => {
    if (e.type === 'warning') warnings.push(e.message as string);
  });
  assert.equal(code, 0);
  const atSwitch = peer.received;
  assert.ok(
    await peer.past(atSwitch + 8192, 30),
    `echoes go on after the move (${atSwitch} bytes before it)`,
  );
  await sleep(1000);
  return { ...(await peer.stop()), warnings };
}

describe('network transparency: a guest keeps its connections across clouds joined by VXLAN', {
  timeout: 300_000,
}, () => {
  it('with MAC learning, QEMU’s announcement redirects the overlay: no reset, no byte lost', async () => {
    topology(true);
    const { plan, clouds } = await setUp('learning');
    const r = await moveWithPeer(plan, clouds);
    assert.equal(r.error, null, 'no reset');
    assert.equal(r.closed, false);
    assert.ok(r.received >= r.sent - 64 * 1024, `${r.received} of ${r.sent} bytes echoed`);
    process.stdout.write(`# blackout with learning: ${r.maxGapMs} ms\n`);
    assert.ok(r.maxGapMs < 15_000, `blackout ${r.maxGapMs} ms`);
  });

  it('with static forwarding, the clouds’ overlay commands move the guest’s MAC: no reset, no byte lost', async () => {
    topology(false);
    const entry = (ns: string, dev: string, dst?: string) =>
      `ip netns exec ${ns} bridge fdb replace {macs} dev ${dev} master static${dst === undefined ? '' : ` && ip netns exec ${ns} bridge fdb replace {macs} dev ${dev} dst ${dst}`}`;
    const overlay = {
      a: { leave: entry(NS.a, 'vx0', VTEP.b) },
      b: { arrive: entry(NS.b, 'tap0') },
    };
    const { plan, clouds } = await setUp('static', overlay);
    const r = await moveWithPeer(plan, clouds);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.error, null, 'no reset');
    assert.ok(r.received >= r.sent - 64 * 1024, `${r.received} of ${r.sent} bytes echoed`);
    const fdb = inNs(NS.a, 'bridge', 'fdb', 'show', 'dev', 'vx0').toString();
    assert.match(
      fdb,
      new RegExp(`${GUEST.mac} dst ${VTEP.b.replace(/\./g, '\\.')}`),
      'a sends the guest’s frames to b’s VTEP',
    );
    process.stdout.write(`# blackout with static forwarding and overlay commands: ${r.maxGapMs} ms\n`);
    assert.ok(r.maxGapMs < 15_000, `blackout ${r.maxGapMs} ms`);
  });
});
