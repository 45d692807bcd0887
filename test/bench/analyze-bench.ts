import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Decoder } from '../../capture/decode/decoder.js';
import { readCapture } from '../../capture/files/read-capture.js';
import {
  buildScenario,
  CLOUDS,
  type ScenarioSize,
  scenarioInventory,
} from '../../fixtures/synth/cluster-scenario.js';
import { frameLength, TCP_FLAGS, writeFrame } from '../../fixtures/synth/frame-builder.js';
import { PcapWriter } from '../../fixtures/synth/pcap-writer.js';
import { writeCluster } from '../../fixtures/synth/write-cluster.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { textTable } from '../../src/text-format.js';
import { CLI, ROOT } from '../helpers.js';
import { FAMILIES, writeFamily } from './traffic-families.js';

/**
 * `npm run bench`: sky-plan analyze against tcpdump and tshark on the same synthetic capture (2.3M packets,
 * 217 VMs on 24 hypervisors in 3 clouds), file readers against libpcap, and peak RSS on a 2 GB capture.
 * Every ratio compares runs made in this process's lifetime on this machine, since machines are noisy.
 * Also: garbage collections during a warm analysis (allocation on the hot path) and peak RSS under a
 * flow explosion; first, eight traffic families (traffic-families.ts). Options: --runs N (default 5), --no-tshark,
 * --no-big (skip the 2 GB capture), --families-only.
 */
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const dir = join(tmpdir(), 'sky-plan-bench');

const SIZE: ScenarioSize = {
  mappers: 24,
  reducers: 24,
  gridWidth: 12,
  gridHeight: 12,
  workers: 23,
  hostsPerCloud: 8,
  duration: 60,
  volume: 3.5,
};
const BIG: ScenarioSize = { ...SIZE, volume: 7 };

function capture(name: string, size: ScenarioSize): { path: string; inventory: string } {
  const path = join(dir, `${name}.pcap`);
  const inventory = join(dir, `${name}-inventory.json`);
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} ...\n`);
    writeCluster(dir, size, { mss: 512, name });
  }
  writeFileSync(inventory, JSON.stringify(scenarioInventory(buildScenario(size))));
  return { path, inventory };
}

function time(command: string, argv: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function median(command: string, argv: string[], n: number): number {
  const times = Array.from({ length: n }, () => time(command, argv)).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function readerRate(path: string, decode: boolean): Promise<{ frames: number; rate: number }> {
  const d = new Decoder();
  let n = 0;
  const t = process.hrtime.bigint();
  await readCapture(path, {
    frame: decode
      ? (b, o, c, l, _ts, lt) => {
          d.decode(b, o, c, l, lt);
          n++;
        }
      : () => {
          n++;
        },
  });
  return { frames: n, rate: n / (Number(process.hrtime.bigint() - t) / 1e9) };
}

async function libpcapRate(path: string): Promise<number | undefined> {
  let pcap: { createOfflineSession(path: string, options: object): NodeJS.EventEmitter };
  try {
    pcap = (await import('pcap')).default as typeof pcap;
  } catch {
    return undefined;
  }
  let n = 0;
  const t = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const session = pcap.createOfflineSession(path, {});
    session.on('packet', () => {
      n++;
    });
    session.on('complete', () => resolve());
  });
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** One scanner probing 1,000 hosts on many ports: every packet a new 5-tuple. */
function writeScan(path: string, count: number): void {
  const writer = new PcapWriter(path);
  const scanner = { mac: 0x020000000999, ip: 0xc0000242 };
  for (let i = 0; i < count; i++) {
    const target = { mac: 0x020000001000 + (i % 1000), ip: (0x0a000000 + (i % 1000)) >>> 0 };
    const p = writer.frame(1_700_000_000 + i / 1e5, frameLength('tcp', 0, false));
    writeFrame(
      writer.buffer,
      p,
      scanner,
      target,
      'tcp',
      40000 + (i % 25000),
      1 + Math.floor(i / 1000),
      0,
      TCP_FLAGS.SYN,
      undefined,
    );
  }
  writer.close();
}

mkdirSync(dir, { recursive: true });

// Traffic families: flow order, snaplen, hosts and distinct flows, each against tcpdump in this run.
{
  process.stdout.write(
    'traffic families (analyze FILE, table output; tcpdump -r FILE -w /dev/null; warm in-process rate on one core):\n',
  );
  const rows: string[][] = [];
  for (const family of FAMILIES) {
    const path = join(dir, `family-${family.name.replace(/[^a-z0-9]+/gi, '-')}.pcap`);
    if (!existsSync(path)) {
      process.stderr.write(`generating ${path} ...\n`);
      writeFamily(path, family);
    }
    const ours = median(process.execPath, [CLI, 'analyze', path], runs);
    const theirs = median('tcpdump', ['-r', path, '-w', '/dev/null'], runs);
    await analyzeCaptures([{ path }]);
    const t = process.hrtime.bigint();
    await analyzeCaptures([{ path }]);
    const warm = family.packets / (Number(process.hrtime.bigint() - t) / 1e9);
    rows.push([
      family.name,
      `${fmt(ours, 3)} s`,
      `${fmt(theirs, 3)} s`,
      `${fmt(ours / theirs)}x`,
      `${fmt(warm / 1e6)} Mpps`,
    ]);
  }
  process.stdout.write(`${textTable(['family', 'analyze', 'tcpdump', 'ratio', 'warm'], rows)}\n`);
  process.stdout.write('  targets: ratio <= 1.50x on every family; >= 5 Mpps warm with no locality\n\n');
}
if (args.includes('--families-only')) process.exit(0);

const main = capture('bench', SIZE);
const bytes = statSync(main.path).size;
// Readers run three times each (the first warms the JIT); the best rate counts.
const best = async (f: () => Promise<number | undefined>) => {
  let top: number | undefined;
  for (let i = 0; i < 3; i++) {
    const r = await f();
    if (r !== undefined) top = Math.max(top ?? 0, r);
  }
  return top;
};
const { frames: packets } = await readerRate(main.path, false);
const ours = (await best(async () => (await readerRate(main.path, false)).rate)) as number;
process.stdout.write(
  `capture: ${main.path}, ${(bytes / 1e9).toFixed(2)} GB, ${packets} packets, 217 VMs on ${SIZE.hostsPerCloud * CLOUDS.length} hypervisors\n\n`,
);

const graphOut = join(dir, 'graph.json');
const analyze = median(
  process.execPath,
  [CLI, 'analyze', main.path, '--inventory', main.inventory, '--out', graphOut],
  runs,
);
const tcpdump = median('tcpdump', ['-r', main.path, '-w', '/dev/null'], runs);
const startup = median(process.execPath, [CLI, '--version'], runs);
process.stdout.write(
  `analyze (inventory, graph JSON)   ${fmt(analyze, 3)} s  ${fmt(packets / analyze / 1e6)} Mpps\n`,
);
process.stdout.write(
  `tcpdump -r FILE -w /dev/null      ${fmt(tcpdump, 3)} s  ${fmt(packets / tcpdump / 1e6)} Mpps\n`,
);
process.stdout.write(
  `  ratio analyze / tcpdump: ${fmt(analyze / tcpdump)}x (target <= 1.00x); node start-up alone: ${fmt(startup, 3)} s\n`,
);
if (!args.includes('--no-tshark')) {
  const tshark = time('tshark', ['-q', '-z', 'conv,ip', '-r', main.path]);
  process.stdout.write(
    `tshark -q -z conv,ip -r FILE      ${fmt(tshark, 1)} s  ${fmt(packets / tshark / 1e3, 0)} kpps\n`,
  );
  process.stdout.write(`  ratio analyze / tshark: ${fmt(analyze / tshark, 4)}x\n`);
}

process.stdout.write('\nfile readers (in this process, read only / read + decode):\n');
const oursDecode = (await best(async () => (await readerRate(main.path, true)).rate)) as number;
const libpcap = await best(() => libpcapRate(main.path));
process.stdout.write(
  `  sky-plan reader (TypeScript)   ${fmt(ours / 1e6)} Mpps read, ${fmt(oursDecode / 1e6)} Mpps read + decode\n`,
);
if (libpcap === undefined) process.stdout.write('  libpcap via the pcap package: not installed\n');
else
  process.stdout.write(
    `  libpcap via the pcap package   ${fmt(libpcap / 1e6)} Mpps read only (${fmt(ours / libpcap)}x slower than ours)\n`,
  );

// Allocation on the hot path shows up as young-generation collections during a warm in-process run.
{
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  await analyzeCaptures([{ path: main.path }]);
  observer.observe({ entryTypes: ['gc'] });
  const t = process.hrtime.bigint();
  await analyzeCaptures([{ path: main.path }]);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  process.stdout.write(
    `\nanalysis in process, warm: ${fmt(seconds, 3)} s, ${fmt(packets / seconds / 1e6)} Mpps, ${collections} garbage collections for ${packets} packets\n`,
  );
}

// A port scan: a million distinct 5-tuples against the default flow-table limit.
{
  const scan = join(dir, 'scan.pcap');
  if (!existsSync(scan)) writeScan(scan, 1_000_000);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'dist/test/bench/max-rss.js'), 'analyze', scan, '--json'],
    {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    },
  );
  const rss = Number(/max-rss (\d+)/.exec(r.stderr)?.[1]);
  const doc = JSON.parse(r.stdout) as {
    flowTable: { foldedPackets: number };
    summary: { edgePackets: number };
  };
  process.stdout.write(
    `flow explosion (1,000,000 distinct 5-tuples): peak RSS ${fmt(rss / 1e6, 0)} MB, ${doc.flowTable.foldedPackets} packets folded into endpoint pairs, ${doc.summary.edgePackets} packets in the graph\n`,
  );
}

if (!args.includes('--no-big')) {
  const big = capture('big', BIG);
  const size = statSync(big.path).size;
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'dist/test/bench/max-rss.js'),
      'analyze',
      big.path,
      '--inventory',
      big.inventory,
      '--out',
      join(dir, 'big.json'),
    ],
    { encoding: 'utf8' },
  );
  const rss = Number(/max-rss (\d+)/.exec(r.stderr)?.[1]);
  process.stdout.write(
    `\npeak RSS of analyze on a ${fmt(size / 1e9)} GB capture: ${fmt(rss / 1e6, 0)} MB (target < 300 MB)\n`,
  );
}
