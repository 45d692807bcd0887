// @integration: needs root (network namespaces, veths), tcpdump
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDomiflist } from '../../capture/live/libvirt-taps.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { CLI, fixture, ROOT, runCli, tempDir } from '../helpers.js';
import { Background, readWindowFiles } from './background.js';
import { ip } from './veth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = String(process.pid % 10000);

const SINK =
  "require('net').createServer((s) => { s.resume(); s.on('end', () => s.end()); }).listen(5001, '10.55.0.11')";
const SEND =
  "const s = require('net').connect(5001, '10.55.0.11', () => s.end(Buffer.alloc(200000))); s.resume(); s.on('close', () => process.exit(0))";

const DOMIFLIST = ` Interface   Type     Source    Model    MAC
------------------------------------------------------------
 {tap}       bridge   br0       virtio   {mac}
 -         user     -         virtio   52:54:00:00:00:99
`;

describe('sky-plan capture: what goes wrong, said clearly', () => {
  it('without capture rights: names the capabilities and how to grant them', () => {
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        CLI,
        'capture',
        '-i',
        'lo',
        '--duration',
        '1s',
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities .*setcap/);
    assert.doesNotMatch(r.stderr, /at .*\.js/);
  });

  it('an unknown interface, a bad filter', () => {
    const noIf = runCli(['capture', '-i', 'nosuch0']);
    assert.equal(noIf.status, 2);
    assert.match(noIf.stderr, /there is no interface "nosuch0"/);
    const badFilter = runCli(['capture', '-i', 'lo', '--filter', 'port nope']);
    assert.equal(badFilter.status, 2);
    assert.match(badFilter.stderr, /--filter "port nope" is not a valid BPF expression/);
    assert.match(runCli(['capture']).stderr, /-i vnet0,vnet1, --tap vnet0=MAC or --libvirt/);
    const badTap = runCli(['capture', '--tap', 'vnet0']);
    assert.equal(badTap.status, 2);
    assert.match(badTap.stderr, /--tap: "vnet0" is not NAME=MAC/);
  });

  it('without the native module: capture says what to install, analyze still works', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'dist'));
    copyFileSync(CLI, join(dir, 'dist', 'sky-plan.mjs'));
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    mkdirSync(join(dir, 'node_modules'));
    for (const m of readdirSync(join(ROOT, 'node_modules'))) {
      if (m !== 'pcap' && m !== 'cap')
        symlinkSync(join(ROOT, 'node_modules', m), join(dir, 'node_modules', m));
    }
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(dir, 'dist', 'sky-plan.mjs'), ...args], { encoding: 'utf8' });
    const capture = run('capture', '-i', 'lo');
    assert.equal(capture.status, 3, capture.stderr);
    assert.match(
      capture.stderr,
      /live capture needs the native "pcap" module.*apt-get install libpcap-dev.*npm rebuild pcap/,
    );
    const analyze = run('analyze', fixture('captures', 'flowtest_vxlan.pcap'), '--json');
    assert.equal(analyze.status, 0, analyze.stderr);
    assert.ok((JSON.parse(analyze.stdout) as GraphDocument).edges.length > 0);
  });

  it('reads virsh domiflist, skipping NICs without a host-side device', () => {
    const text = DOMIFLIST.replace('{tap}', 'vnet3').replace('{mac}', '52:54:00:AB:CD:EF');
    assert.deepEqual(parseDomiflist('web1', text), [
      { name: 'web1', mac: '52:54:00:ab:cd:ef', interface: 'vnet3' },
    ]);
  });
});

describe('sky-plan capture --libvirt on taps and their bridge (root)', () => {
  after(() => Background.killAll());
  const bridge = `skbr${tag}`;
  const vms = [
    { name: 'vm-a', ns: `skns${tag}a`, tap: `sktap${tag}a`, mac: '02:55:00:00:00:0a', ip: '10.55.0.10' },
    { name: 'vm-b', ns: `skns${tag}b`, tap: `sktap${tag}b`, mac: '02:55:00:00:00:0b', ip: '10.55.0.11' },
  ];
  after(() => {
    for (const vm of vms) spawnSync('ip', ['netns', 'del', vm.ns]);
    spawnSync('ip', ['link', 'del', bridge]);
  });

  /** 200 kB over TCP from vm-a to vm-b (node in the namespaces: no ping or netcat needed), then 1.5 s. */
  async function sendAtoB(): Promise<void> {
    const server = spawn('ip', ['netns', 'exec', vms[1]?.ns as string, process.execPath, '-e', SINK], {
      stdio: 'ignore',
    });
    await sleep(500);
    execFileSync('ip', ['netns', 'exec', vms[0]?.ns as string, process.execPath, '-e', SEND], {
      stdio: 'ignore',
      timeout: 20_000,
    });
    server.kill();
    await sleep(1500);
  }

  before(() => {
    // A hub, as in the lab, so the bridge device sees every frame too. Without multicast snooping: a
    // snooping bridge joins 224.0.0.106 and reports it again (IGMPv3, from the bridge itself) when its MAC
    // changes as ports join. Sent up to a second later, under load that report fell between tcpdump's
    // start and the collector's: a frame on the bridge the collector could not have seen (23 vs 24).
    ip('link', 'add', bridge, 'type', 'bridge', 'ageing_time', '0', 'mcast_snooping', '0');
    writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
    ip('link', 'set', bridge, 'up');
    for (const vm of vms) {
      ip('netns', 'add', vm.ns);
      ip('link', 'add', vm.tap, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm.ns);
      writeFileSync(`/proc/sys/net/ipv6/conf/${vm.tap}/disable_ipv6`, '1');
      execFileSync('ip', ['netns', 'exec', vm.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      ip('link', 'set', vm.tap, 'master', bridge, 'up');
      ip('-n', vm.ns, 'link', 'set', 'eth0', 'address', vm.mac);
      ip('-n', vm.ns, 'addr', 'add', `${vm.ip}/24`, 'dev', 'eth0');
      ip('-n', vm.ns, 'link', 'set', 'eth0', 'up');
    }
    // Fixed neighbours: the kernel's ARP probes come at random times (reachability expiring), and one
    // between the collector's stop and tcpdump's was a frame on the bridge the collector never saw.
    for (const [me, peer] of [vms, [...vms].reverse()] as [(typeof vms)[number], (typeof vms)[number]][]) {
      ip('-n', me.ns, 'neigh', 'replace', peer.ip, 'lladdr', peer.mac, 'dev', 'eth0', 'nud', 'permanent');
    }
  });

  it('a frame crossing two taps and the bridge counts once, on its sender’s tap', async () => {
    const dir = tempDir();
    // virsh as libvirt would answer on this hypervisor (no libvirtd in CI).
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const cases = vms
      .map(
        (vm) =>
          `  *"domiflist ${vm.name}"*) cat <<'E'\n${DOMIFLIST.replace('{tap}', vm.tap).replace('{mac}', vm.mac)}E\n  ;;`,
      )
      .join('\n');
    writeFileSync(
      join(bin, 'virsh'),
      `#!/bin/sh\ncase "$*" in\n  *"list --name"*) cat ${join(dir, 'running')} ;;\n${cases}\nesac\n`,
    );
    chmodSync(join(bin, 'virsh'), 0o755);
    const inventory = join(dir, 'inventory.json');
    writeFileSync(
      inventory,
      JSON.stringify({ vms: vms.map((vm) => ({ name: vm.name, nics: [{ mac: vm.mac, ips: [vm.ip] }] })) }),
    );
    const out = join(dir, 'windows');
    const truthPcap = join(dir, 'bridge.pcap');
    const truth = spawn('tcpdump', ['-i', bridge, '--immediate-mode', '-U', '-w', truthPcap], {
      stdio: 'ignore',
    });
    // vm-b starts after the collector: its tap is picked up at the next reading of libvirt.
    writeFileSync(join(dir, 'running'), 'vm-a\n\n');
    const capture = new Background(
      [
        'capture',
        '--libvirt',
        '--libvirt-every',
        '1s',
        '-i',
        bridge,
        '--window',
        '1s',
        '--host',
        'hv1',
        '--out',
        out,
      ],
      {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
      },
    );
    await capture.waitFor(/capturing on/);
    writeFileSync(join(dir, 'running'), 'vm-a\nvm-b\n\n');
    // Until a reading of libvirt (every second) opened vm-b's tap: a window names vm-b.
    const seesB = () => existsSync(out) && readWindowFiles(out).docs.some((d) => d.vms.length === 2);
    for (let i = 0; i < 150 && !seesB(); i++) await sleep(100);
    await sleep(1000);
    await sendAtoB();
    assert.equal(await capture.stop(), 0, capture.stderr);
    truth.kill('SIGINT');
    await new Promise((r) => truth.on('exit', r));
    const { files, docs } = readWindowFiles(out);
    assert.deepEqual(
      docs[0]?.vms.map((v) => v.name),
      ['vm-a'],
    );
    assert.deepEqual(
      docs.at(-1)?.vms.map((v) => v.name),
      ['vm-a', 'vm-b'],
    );
    assert.deepEqual(
      docs
        .at(-1)
        ?.interfaces.map((i) => i.name)
        .sort(),
      [bridge, ...vms.map((vm) => vm.tap)].sort(),
    );
    const elsewhere = docs.flatMap((d) => d.interfaces).reduce((n, i) => n + i.countedElsewhere, 0);
    // In a hub every frame crosses all three captured interfaces: counted once, left to it elsewhere.
    const counted = docs.at(-1)?.decode.frames ?? 0;
    assert.ok(counted >= 10 && elsewhere >= counted, `${counted} counted, ${elsewhere} left to another`);
    const merged = runCli(['collect', ...files, '--inventory', inventory, '--json']);
    assert.equal(merged.status, 0, merged.stderr);
    const live = JSON.parse(merged.stdout) as GraphDocument;
    const file = runCli(['analyze', truthPcap, '--inventory', inventory, '--json']);
    const expected = JSON.parse(file.stdout) as GraphDocument;
    const pairs = (g: GraphDocument) =>
      g.edges.map((e) => `${e.source}>${e.target} ${e.bytes} ${e.packets}`).sort();
    // Which frame a mismatch is about: the bridge's frames, with their times, against the windows'.
    const why = () =>
      `live ${JSON.stringify(pairs(live))}, bridge ${JSON.stringify(pairs(expected))}; windows ${JSON.stringify(
        docs.map((d) => [d.window.index, d.decode.frames]),
      )}; bridge frames:\n${spawnSync('tcpdump', ['-r', truthPcap, '-nn', '-e', '-tt'], { encoding: 'utf8' }).stdout}`;
    assert.equal(
      counted,
      expected.captures[0]?.stats.frames,
      `frames counted once = frames on the bridge: ${why()}`,
    );
    assert.deepEqual(pairs(live), pairs(expected));
    const ab = live.edges.find((e) => e.source === 'vm-a' && e.target === 'vm-b');
    assert.ok(ab !== undefined && ab.bytes > 200000, `vm-a → vm-b bytes: ${ab?.bytes}`);
  });

  it('--tap NAME=MAC on both taps, without libvirt: each frame counts once, where its sender put it', async () => {
    // Nothing says which VM is behind which tap here.
    const dir = tempDir();
    const out = join(dir, 'windows');
    const truthPcap = join(dir, 'tap.pcap');
    const truth = spawn('tcpdump', ['-i', vms[0]?.tap as string, '--immediate-mode', '-U', '-w', truthPcap], {
      stdio: 'ignore',
    });
    const capture = new Background([
      'capture',
      ...vms.flatMap((vm) => ['--tap', `${vm.tap}=${vm.mac}`]),
      '--window',
      '1s',
      '--host',
      'hv1',
      '--out',
      out,
    ]);
    await capture.waitFor(/capturing on/);
    await sleep(1000);
    await sendAtoB();
    assert.equal(await capture.stop(), 0, capture.stderr);
    assert.doesNotMatch(capture.stderr, /counts twice/);
    truth.kill('SIGINT');
    await new Promise((r) => truth.on('exit', r));
    // Every frame between the two crosses vm-a's tap: there, one capture holds them all once.
    const inventory = join(dir, 'inventory.json');
    writeFileSync(
      inventory,
      JSON.stringify({ vms: vms.map((vm) => ({ name: vm.name, nics: [{ mac: vm.mac, ips: [vm.ip] }] })) }),
    );
    const merged = runCli(['collect', ...readWindowFiles(out).files, '--inventory', inventory, '--json']);
    assert.equal(merged.status, 0, merged.stderr);
    const expected = JSON.parse(runCli(['analyze', truthPcap, '--inventory', inventory, '--json']).stdout);
    const pairs = (g: GraphDocument) =>
      g.edges.map((e) => `${e.source}>${e.target} ${e.bytes} ${e.packets}`).sort();
    assert.deepEqual(
      pairs(JSON.parse(merged.stdout) as GraphDocument),
      pairs(expected as GraphDocument),
      `${capture.stderr} ${JSON.stringify(readWindowFiles(out).docs.map((d) => [d.window.index, d.decode.frames]))}`,
    );
  });
});
