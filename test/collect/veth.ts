import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fixture } from '../helpers.js';

export const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/**
 * A veth pair in the root namespace: frames tcpreplay sends into `send` come out of `capture`. IPv6 is
 * off so the kernel adds nothing of its own (router solicitations, MLD) to what the test sends.
 */
export class VethPair {
  constructor(
    readonly send: string,
    readonly capture: string,
  ) {
    ip('link', 'add', send, 'mtu', '9000', 'type', 'veth', 'peer', 'name', capture, 'mtu', '9000');
    for (const dev of [send, capture]) {
      writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
      ip('link', 'set', dev, 'up');
    }
  }

  /** Sends a capture's frames as fast as the link takes them; returns what tcpreplay reported. */
  replay(pcap: string): string {
    return execFileSync('tcpreplay', ['-i', this.send, '--topspeed', pcap], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  remove(): void {
    try {
      ip('link', 'del', this.send);
    } catch {
      // already gone with its peer
    }
  }
}

/**
 * A copy of a pcap whose records claim only the bytes they hold (orig_len := incl_len): what tcpreplay
 * actually sends of a capture cut by a snaplen, so that `analyze` of it is the truth for the replay.
 * Several `out` paths split the frames into consecutive files.
 */
export function replayableCopies(pcap: Buffer, out: string[]): void {
  const header = pcap.subarray(0, 24);
  const records: Buffer[] = [];
  for (let p = 24; p + 16 <= pcap.length; ) {
    const incl = pcap.readUInt32LE(p + 8);
    const rec = Buffer.from(pcap.subarray(p, p + 16 + incl));
    rec.writeUInt32LE(incl, 12);
    records.push(rec);
    p += 16 + incl;
  }
  const per = Math.ceil(records.length / out.length);
  out.forEach((path, i) => {
    writeFileSync(path, Buffer.concat([header, ...records.slice(i * per, (i + 1) * per)]));
  });
}

export function readGraph(path: string): {
  edges: { source: string; target: string; bytes: number; packets: number }[];
} {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The cluster fixture as a plain pcap in `dir`, which tcpreplay reads. */
export function clusterPcap(dir: string): string {
  const pcap = join(dir, 'cluster.pcap');
  writeFileSync(pcap, gunzipSync(readFileSync(fixture('cluster', 'cluster.pcap.gz'))));
  return pcap;
}

/** `sky-plan capture` on the veth's capture end in 1 s windows, as hypervisor hv-test. */
export const captureOn = (veth: VethPair, ...extra: string[]) => [
  'capture',
  '-i',
  veth.capture,
  '--window',
  '1s',
  '--host',
  'hv-test',
  ...extra,
];
