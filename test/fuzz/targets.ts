import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '../../capture/capture-error.js';
import { emptyStats } from '../../capture/decode-stats.js';
import { FlowExportDecoder } from '../../capture/flow-export/flow-export-decoder.js';
import { FLOW_FLAG, WINDOW_SCHEMA } from '../../capture/window-document.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { Aggregator, RefusedWindow } from '../../src/collect/aggregator.js';
import { readWindow } from '../../src/collect/read-window.js';
import { UserError } from '../../src/errors.js';
import { graphDocument } from '../../src/graph/graph-document.js';
import { parseInventory } from '../../src/inventory/load-inventory.js';
import { readGraph } from '../../src/plan/read-graph.js';
import { readExecutablePlan } from '../../src/plan/read-plan.js';
import { fixture, ROOT, tempDir } from '../helpers.js';
import { mutateJson } from './mutate.js';
import { STREAM_TARGETS } from './stream-targets.js';
import { described, Finding, type Target } from './target.js';
import { TUNNEL_TARGETS } from './tunnel-targets.js';

const scratch = tempDir();
const file = (name: string, input: Buffer) => {
  const path = join(scratch, name);
  writeFileSync(path, input);
  return path;
};

/** What a loader may throw at bad input: a UserError naming the file. Anything else is a finding. */
function expectUserError(err: unknown, path: string): void {
  if (err instanceof UserError && err.message.includes(path)) return;
  throw new Finding(`not a user error naming ${path}: ${described(err)}`);
}

/**
 * Seeds: the fixtures' captures, and where the project sits beside them the shared captures too (other
 * protocols, damaged files; not bundled, for their licences). Large ones are left out: mutation works
 * on small inputs.
 */
const SHARED_CAPTURES = join(ROOT, '..', 'shared', 'captures');
const captures = (ext: string) => () =>
  [fixture('captures'), ...(existsSync(SHARED_CAPTURES) ? [SHARED_CAPTURES] : [])]
    .flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => f.endsWith(ext))
        .map((f) => readFileSync(join(dir, f))),
    )
    .filter((b) => b.length <= 128 << 10);

/** analyze of a capture: a CaptureError or a result whose decode counts add up. */
async function capture(input: Buffer, name: string): Promise<void> {
  const path = file(name, input);
  try {
    const analysis = await analyzeCaptures([{ path }]);
    for (const { stats } of analysis.captures) {
      const sum = stats.ok + stats.truncated + stats.malformed + stats.unsupported;
      if (sum !== stats.frames) throw new Finding(`decode counts ${sum} != ${stats.frames} frames`);
    }
    graphDocument(analysis);
  } catch (err) {
    if (err instanceof Finding) throw err;
    if (err instanceof CaptureError) return;
    throw new Finding(`analyze threw: ${described(err)}`);
  }
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const ip = (s: string) => Buffer.from(s.split('.').map(Number));

/** One datagram of each protocol, written here from the RFCs' layouts. */
function flowSeeds(): Buffer[] {
  const v5 = Buffer.concat([
    u16(5),
    u16(1),
    u32(500_000),
    u32(1_700_000_000),
    u32(0),
    u32(1),
    Buffer.from([0, 0]),
    u16(0),
    ip('10.0.0.1'),
    ip('10.0.0.2'),
    ip('0.0.0.0'),
    u16(1),
    u16(2),
    u32(3),
    u32(4500),
    u32(1000),
    u32(2000),
    u16(40000),
    u16(22),
    Buffer.from([0, 0x18, 6, 0]),
    u16(0),
    u16(0),
    Buffer.from([24, 24]),
    u16(0),
  ]);
  const fields = [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [1, 4],
    [2, 4],
    [56, 6],
    [82, 65535],
  ];
  const template = Buffer.concat([
    u16(256),
    u16(fields.length),
    ...fields.flatMap(([id, len]) => [u16(id as number), u16(len as number)]),
  ]);
  const record = Buffer.concat([
    ip('10.0.0.1'),
    ip('10.0.0.2'),
    u16(40000),
    u16(5201),
    Buffer.from([6]),
    u32(1500),
    u32(1),
    Buffer.from('020000000001', 'hex'),
    Buffer.from([5]),
    Buffer.from('vnet3'),
  ]);
  const set = (id: number, body: Buffer) => Buffer.concat([u16(id), u16(4 + body.length), body]);
  const sets = Buffer.concat([set(2, template), set(256, record)]);
  const ipfix = Buffer.concat([u16(10), u16(16 + sets.length), u32(1_700_000_000), u32(1), u32(1), sets]);
  const v9 = Buffer.concat([
    u16(9),
    u16(2),
    u32(500_000),
    u32(1_700_000_000),
    u32(1),
    u32(1),
    set(
      0,
      template.subarray(0, template.length - 4).length > 0
        ? Buffer.concat([
            u16(256),
            u16(8),
            ...fields.slice(0, 8).flatMap(([id, len]) => [u16(id as number), u16(len as number)]),
          ])
        : template,
    ),
    set(256, record.subarray(0, record.length - 6)),
  ]);
  const pcap = readFileSync(fixture('captures', 'flowtest_vxlan.pcap'));
  const frame = pcap.subarray(40, 40 + Math.min(128, pcap.readUInt32LE(32)));
  const raw = Buffer.concat([
    u32(1),
    u32(16 + frame.length),
    u32(1),
    u32(frame.length + 4),
    u32(4),
    u32(frame.length),
    frame,
  ]);
  const sample = Buffer.concat([
    u32(1),
    u32(0),
    u32(10),
    u32(0),
    u32(0),
    u32(1),
    u32(2),
    u32(2),
    raw,
    u32(1030),
    u32(4),
    u32(5001),
  ]);
  const sflow = Buffer.concat([
    u32(5),
    u32(1),
    ip('192.0.2.1'),
    u32(0),
    u32(1),
    u32(1000),
    u32(1),
    u32(1),
    u32(sample.length),
    sample,
  ]);
  return [v5, v9, ipfix, sflow];
}

function windowSeed(): Buffer {
  return Buffer.from(
    JSON.stringify({
      schema: WINDOW_SCHEMA,
      id: 'c1/100/0',
      collector: 'c1',
      host: 'hv1',
      instance: '100',
      seq: 0,
      window: { seconds: 60, index: 29_000_000 },
      byteCount: 'wire',
      interfaces: [{ name: 'vnet0', received: 10, dropped: 1, ifDropped: 0, countedElsewhere: 0 }],
      decode: emptyStats(),
      vms: [{ name: 'web', mac: '52:54:00:00:00:01', interface: 'vnet0' }],
      arp: [['10.0.0.1', '52:54:00:00:00:01']],
      announcements: [],
      endpoints: [
        [4, '10.0.0.1', '52:54:00:00:00:01', null, null],
        [4, '10.0.0.2', '52:54:00:00:00:02', 5001, null],
      ],
      flows: [[0, 1, 1500, 1, FLOW_FLAG.newFlow]],
    }),
  );
}

export const TARGETS: Target[] = [
  ...STREAM_TARGETS,
  ...TUNNEL_TARGETS,
  { name: 'pcap', seeds: captures('.pcap'), run: (input) => capture(input, 'in.pcap') },
  { name: 'pcapng', seeds: captures('.pcapng'), run: (input) => capture(input, 'in.pcapng') },
  {
    name: 'flow-export',
    seeds: flowSeeds,
    // Twice through one decoder: the second pass meets the templates the first one defined.
    run: async (input) => {
      const decoder = new FlowExportDecoder();
      try {
        for (let pass = 0; pass < 2; pass++)
          for (const f of decoder.decode(input, '192.0.2.1', 1_700_000_000))
            if (!(f.bytes >= 0 && f.packets >= 0) || !Number.isFinite(f.bytes))
              throw new Finding(`a flow of ${f.bytes} bytes, ${f.packets} packets`);
      } catch (err) {
        if (err instanceof Finding) throw err;
        throw new Finding(`decode threw: ${described(err)}`);
      }
      const stats = decoder.stats.get('192.0.2.1');
      if (stats !== undefined && stats.datagrams !== 2)
        throw new Finding(`${stats.datagrams} datagrams of 2 counted`);
    },
  },
  {
    name: 'window',
    mutate: mutateJson,
    seeds: () => [windowSeed()],
    // As collect takes a POSTed window: parsed, checked whole, counted, and the graph made of it.
    run: async (input) => {
      let doc: unknown;
      try {
        doc = JSON.parse(input.toString('utf8'));
      } catch {
        return;
      }
      const aggregator = new Aggregator({ windowSeconds: 60, byteCount: 'wire', retainWindows: 10 });
      try {
        aggregator.addWindow(readWindow(doc));
      } catch (err) {
        // readWindow and the aggregator refuse with a plain Error or RefusedWindow; a TypeError is a bug.
        if (err instanceof RefusedWindow || (err as Error)?.constructor === Error) return;
        throw new Finding(`refused with ${described(err)}`);
      }
      try {
        aggregator.settleAll();
        graphDocument(aggregator.analysis());
      } catch (err) {
        throw new Finding(`an accepted window broke the graph: ${described(err)}`);
      }
    },
  },
  {
    name: 'inventory',
    seeds: () => [
      readFileSync(fixture('cluster', 'inventory.yaml')),
      readFileSync(fixture('lab', 'inventory.json')),
    ],
    run: async (input) => {
      try {
        await parseInventory(input.toString('utf8'), 'fuzz.yaml');
      } catch (err) {
        expectUserError(err, 'fuzz.yaml');
      }
    },
  },
  {
    name: 'graph',
    mutate: mutateJson,
    seeds: () => [readFileSync(fixture('golden', 'flowtest_vxlan.json'))],
    run: async (input) => {
      const path = file('graph.json', input);
      try {
        await readGraph(path);
      } catch (err) {
        expectUserError(err, path);
      }
    },
  },
  {
    name: 'plan',
    mutate: mutateJson,
    seeds: () => [readFileSync(fixture('golden', 'cluster-plan.json'))],
    run: async (input) => {
      const path = file('plan.json', input);
      try {
        await readExecutablePlan(path);
      } catch (err) {
        expectUserError(err, path);
      }
    },
  },
];
