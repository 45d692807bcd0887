import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { emptyStats } from '../../capture/decode-stats.js';
import { FLOW_FLAG, WINDOW_SCHEMA, type WindowDocument } from '../../capture/window-document.js';
import { Aggregator } from '../../src/collect/aggregator.js';
import { readWindow } from '../../src/collect/read-window.js';
import { replayableCopies, VethPair } from '../collect/veth.js';
import { CLI, fixture, ROOT, tempDir } from '../helpers.js';

/**
 * `npm run bench:capture` (root): (1) the highest rate tcpreplay reaches on a veth here, sustained for
 * --seconds (default 30) while `sky-plan capture` captures it, with kernel drops, beside tcpdump on the
 * same replay; (2) the aggregator taking 100 collectors' windows of 10,000 flows each: merge time per
 * window (JSON parse, validation, attribution and counting) and memory.
 */
const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 30) || 30;

function replay(veth: VethPair, pcap: string, extra: string[]): { packets: number; pps: number } {
  const out = execFileSync(
    'tcpreplay',
    ['-i', veth.send, '-K', '--loop', '100000', '--duration', String(seconds), ...extra, pcap],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const packets = Number(/Actual: (\d+) packets/.exec(out)?.[1]);
  const pps = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out)?.[1]);
  return { packets, pps };
}

const exited = (p: ChildProcess) => new Promise<void>((r) => p.on('exit', () => r()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Capturer {
  command: string;
  args: (veth: VethPair) => string[];
  stop: NodeJS.Signals;
  /** Frames captured and dropped (kernel + interface), from what the capturer printed on stderr. */
  result(stderr: string): { captured: number; drops: number };
}

const skyPlan = (extra: string[]): Capturer => ({
  command: process.execPath,
  args: (veth) => [
    CLI,
    'capture',
    '-i',
    veth.capture,
    '--window',
    '5s',
    '--buffer',
    '256M',
    '--out',
    tempDir(),
    ...extra,
  ],
  stop: 'SIGTERM',
  result(stderr) {
    const m = /captured (\d+) frames .* kernel drops (\d+), interface drops (\d+)/.exec(stderr);
    if (m === null) throw new Error(`sky-plan capture said: ${stderr}`);
    return { captured: Number(m[1]), drops: Number(m[2]) + Number(m[3]) };
  },
});

const TCPDUMP: Capturer = {
  command: 'tcpdump',
  args: (veth) => ['-i', veth.capture, '-B', String(256 << 10), '-s', '256', '-w', '/dev/null'],
  stop: 'SIGINT',
  result: (stderr) => ({
    captured: Number(/(\d+) packets captured/.exec(stderr)?.[1]),
    drops: Number(/(\d+) packets dropped by kernel/.exec(stderr)?.[1]),
  }),
};

/** Replays `pcap` into the veth while `capturer` captures the other end. */
async function measure(capturer: Capturer, veth: VethPair, pcap: string, extra: string[]) {
  const proc = spawn(capturer.command, capturer.args(veth), {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await sleep(1500);
  const sent = replay(veth, pcap, extra);
  await sleep(1000);
  proc.kill(capturer.stop);
  await exited(proc);
  return { sent, ...capturer.result(stderr) };
}

async function liveCapture(): Promise<void> {
  const dir = tempDir();
  const pcap = join(dir, 'ring.pcap');
  replayableCopies(gunzipSync(readFileSync(fixture('lab', 'mpi-ring.pcap.gz'))), [pcap]);
  const veth = new VethPair(`skbs${process.pid % 10000}`, `skbc${process.pid % 10000}`);
  try {
    const top = await measure(skyPlan([]), veth, pcap, ['--topspeed']);
    console.log(
      `capture, tcpreplay --topspeed for ${seconds} s (lab ring frames, <= 200 B): sent ${top.sent.packets} at ${Math.round(top.sent.pps)} pps; sky-plan captured ${top.captured}, kernel drops ${top.drops}`,
    );
    const immediate = await measure(skyPlan(['--immediate']), veth, pcap, ['--topspeed']);
    console.log(
      `  sky-plan capture --immediate, same replay: sent ${immediate.sent.packets} at ${Math.round(immediate.sent.pps)} pps; captured ${immediate.captured}, kernel drops ${immediate.drops}`,
    );
    const dump = await measure(TCPDUMP, veth, pcap, ['--topspeed']);
    console.log(
      `  baseline tcpdump -w /dev/null, same replay: sent ${dump.sent.packets} at ${Math.round(dump.sent.pps)} pps; captured ${dump.captured}, kernel drops ${dump.drops}`,
    );
    // The highest rate sky-plan keeps up with: step down from what tcpreplay reached until no drop.
    let rate = Math.floor(top.sent.pps);
    let result = top;
    while (result.drops > 0 && rate > 1000) {
      rate = Math.floor(rate * 0.75);
      result = await measure(skyPlan([]), veth, pcap, ['--pps', String(rate)]);
      console.log(
        `  --pps ${rate}: sent ${result.sent.packets} at ${Math.round(result.sent.pps)} pps, captured ${result.captured}, kernel drops ${result.drops}`,
      );
    }
    console.log(
      `capture: highest sustained rate without a kernel drop: ${Math.round(result.sent.pps)} pps (${(result.sent.pps / top.sent.pps).toFixed(2)}x tcpreplay's top speed)`,
    );
  } finally {
    veth.remove();
  }
}

/** 100 collectors on 100 hypervisors; each window holds 10,000 flows among 2,000 VMs. */
function aggregatorBench(): void {
  const collectors = 100;
  const flowsPerWindow = 10_000;
  const vmsPerHost = 20;
  const vms = Array.from({ length: collectors * vmsPerHost }, (_, i) => ({
    name: `vm${i}`,
    host: `hv${Math.floor(i / vmsPerHost)}`,
    nics: [
      {
        mac: `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
      },
    ],
  }));
  const inventory = { clouds: [], hosts: [], vms } as unknown as ConstructorParameters<
    typeof Aggregator
  >[0]['inventory'];
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const window = (c: number, index: number): string => {
    // As a collector writes them: each endpoint once, flows pointing at them.
    const endpoints: WindowDocument['endpoints'] = [];
    const seen = new Map<number, number>();
    const endpoint = (vm: number) => {
      let i = seen.get(vm);
      if (i === undefined) {
        const nic = vms[vm]?.nics[0] as { mac: string; ips: string[] };
        i = endpoints.push([4, nic.ips[0] as string, nic.mac, null, null]) - 1;
        seen.set(vm, i);
      }
      return i;
    };
    const flows: WindowDocument['flows'] = [];
    for (let f = 0; f < flowsPerWindow; f++) {
      const local = endpoint(c * vmsPerHost + Math.floor(random() * vmsPerHost));
      // Traffic is local-heavy: most peers within ten neighbouring hypervisors.
      const near = (c * vmsPerHost + Math.floor(random() * vmsPerHost * 10)) % vms.length;
      const peer = endpoint(random() < 0.8 ? near : Math.floor(random() * vms.length));
      const bytes = Math.floor(random() * 1e6);
      const packets = Math.floor(random() * 1e3) + 1;
      const [from, to] = random() < 0.5 ? [local, peer] : [peer, local];
      flows.push([from, to, bytes, packets, FLOW_FLAG.newFlow]);
    }
    const doc: WindowDocument = {
      schema: WINDOW_SCHEMA,
      id: `c${c}/1/${index}`,
      collector: `c${c}`,
      host: `hv${c}`,
      instance: '1',
      seq: index,
      window: { seconds: 60, index: 29_000_000 + index },
      byteCount: 'wire',
      interfaces: [{ name: 'vnet0', received: 1, dropped: 0, ifDropped: 0, countedElsewhere: 0 }],
      decode: emptyStats(),
      vms: [],
      arp: [],
      announcements: [],
      endpoints,
      flows,
    };
    return JSON.stringify(doc);
  };
  const aggregator = new Aggregator({ inventory, windowSeconds: 60, byteCount: 'wire', retainWindows: 60 });
  const windows = 5;
  const times: number[] = [];
  let bytes = 0;
  for (let w = 0; w < windows; w++) {
    const bodies = Array.from({ length: collectors }, (_, c) => window(c, w));
    bytes = bodies.reduce((n, b) => n + b.length, 0);
    const t0 = performance.now();
    for (const body of bodies) aggregator.addWindow(readWindow(JSON.parse(body)));
    times.push(performance.now() - t0);
  }
  aggregator.settleAll();
  globalThis.gc?.();
  const rss = process.memoryUsage().rss;
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `aggregator: ${collectors} collectors x ${flowsPerWindow} flows per window (${(bytes / 1e6).toFixed(1)} MB of JSON per window): merge ${((sorted[Math.floor(windows / 2)] as number) / 1000).toFixed(2)} s median per window (${times.map((t) => (t / 1000).toFixed(2)).join(', ')}), ${((sorted[Math.floor(windows / 2)] as number) / collectors).toFixed(1)} ms per collector; ${aggregator.traffic.edges.size} edges; RSS ${(rss / 1e6).toFixed(0)} MB after ${windows} windows`,
  );
}

aggregatorBench();
if (!args.includes('--no-live')) await liveCapture();
