import { closeSync, openSync, writeSync } from 'node:fs';
import { frameLength, TCP_FLAGS, writeFrame } from '../../fixtures/synth/frame-builder.js';
import { seededRng } from '../../planner/rng.js';

/**
 * Captures of one traffic family each, for `npm run bench`: how the flows are ordered (bursts of one flow,
 * or every packet of another flow than the last), how much of each frame was captured, how many hosts and
 * how many distinct 5-tuples. The generator is not the cluster scenario's, so the figures do not rest on
 * one traffic mix.
 */
export interface TrafficFamily {
  name: string;
  locality: 'high' | 'none';
  /** Bytes captured per frame; 0 for whole frames. */
  snaplen: 96 | 0;
  hosts: number;
  flows: number;
  packets: number;
}

const BURST = 32;

export const FAMILIES: TrafficFamily[] = [
  {
    name: 'bursts, snap 96, 200 hosts, 1k flows',
    locality: 'high',
    snaplen: 96,
    hosts: 200,
    flows: 1e3,
    packets: 2e6,
  },
  {
    name: 'random, snap 96, 200 hosts, 1k flows',
    locality: 'none',
    snaplen: 96,
    hosts: 200,
    flows: 1e3,
    packets: 2e6,
  },
  {
    name: 'random, snap 96, 200 hosts, 1M flows',
    locality: 'none',
    snaplen: 96,
    hosts: 200,
    flows: 1e6,
    packets: 2e6,
  },
  {
    name: 'random, snap 96, 20k hosts, 1k flows',
    locality: 'none',
    snaplen: 96,
    hosts: 2e4,
    flows: 1e3,
    packets: 2e6,
  },
  {
    name: 'random, snap 96, 20k hosts, 1M flows',
    locality: 'none',
    snaplen: 96,
    hosts: 2e4,
    flows: 1e6,
    packets: 2e6,
  },
  {
    name: 'bursts, snap 96, 20k hosts, 1M flows',
    locality: 'high',
    snaplen: 96,
    hosts: 2e4,
    flows: 1e6,
    packets: 2e6,
  },
  {
    name: 'random, full frames, 200 hosts, 1k flows',
    locality: 'none',
    snaplen: 0,
    hosts: 200,
    flows: 1e3,
    packets: 1e6,
  },
  {
    name: 'bursts, full frames, 20k hosts, 1M flows',
    locality: 'high',
    snaplen: 0,
    hosts: 2e4,
    flows: 1e6,
    packets: 1e6,
  },
];

export function writeFamily(path: string, f: TrafficFamily, seed = 1): void {
  const rng = seededRng(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  const nic = (h: number) => ({ mac: 0x020000000000 + h, ip: (0x0a000000 + h) >>> 0 });
  // Each flow: two distinct hosts and two ports, as (src, dst, sport, dport).
  const flows = new Int32Array(f.flows * 4);
  for (let i = 0; i < f.flows; i++) {
    const a = pick(f.hosts);
    flows[i * 4] = a;
    flows[i * 4 + 1] = (a + 1 + pick(f.hosts - 1)) % f.hosts;
    flows[i * 4 + 2] = 1024 + pick(60000);
    flows[i * 4 + 3] = [80, 443, 5432, 6379, 9092][pick(5)] as number;
  }
  const fd = openSync(path, 'w');
  const out = Buffer.alloc(8 << 20);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(f.snaplen || 65535, 16);
  header.writeUInt32LE(1, 20);
  writeSync(fd, header);
  let used = 0;
  let flow = 0;
  for (let i = 0; i < f.packets; i++) {
    if (f.locality === 'high' ? i % BURST === 0 : true) {
      const next = pick(f.flows - 1);
      flow = f.locality === 'none' && next >= flow ? next + 1 : next;
    }
    const reply = rng() < 0.4;
    const payload = reply ? pick(64) : pick(1448);
    const length = frameLength('tcp', payload, false);
    const caplen = f.snaplen === 0 ? length : Math.min(length, f.snaplen);
    if (used + 16 + length > out.length) {
      writeSync(fd, out, 0, used);
      used = 0;
    }
    const ts = 1_700_000_000 + i * 1e-5;
    out.writeUInt32LE(Math.floor(ts), used);
    out.writeUInt32LE(Math.round((ts % 1) * 1e6) % 1e6, used + 4);
    out.writeUInt32LE(caplen, used + 8);
    out.writeUInt32LE(length, used + 12);
    const p = used + 16;
    out.fill(0, p, p + caplen);
    const [a, b, sport, dport] = [
      flows[flow * 4],
      flows[flow * 4 + 1],
      flows[flow * 4 + 2],
      flows[flow * 4 + 3],
    ] as number[];
    const src = nic(reply ? (b as number) : (a as number));
    const dst = nic(reply ? (a as number) : (b as number));
    // Headers are 54 bytes: they fit in every caplen written here.
    writeFrame(
      out,
      p,
      src,
      dst,
      'tcp',
      reply ? (dport as number) : (sport as number),
      reply ? (sport as number) : (dport as number),
      payload,
      TCP_FLAGS.ACK,
      undefined,
    );
    used = p + caplen;
  }
  writeSync(fd, out, 0, used);
  closeSync(fd);
}
