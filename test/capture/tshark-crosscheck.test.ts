// @integration: needs tshark, root (network namespaces)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FlowRecord } from '../../capture/flow-record.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { fixture } from '../helpers.js';

/**
 * Independent check of every real fixture against tshark (Wireshark 4.0, IP reassembly off so first
 * fragments are dissected as sent). Per directed IP pair:
 *  - packets and bytes of untunnelled traffic equal tshark's frame count and frame.len sum;
 *  - tunnelled traffic (a tshark frame with an outer pair that sky-plan reports as tunnel endpoints)
 *    counts, for the inner pair, the inner frame, computed from tshark's outer header fields and the
 *    tunnel RFCs (VXLAN, Geneve, GRE, ERSPAN header sizes), so inner Ethernet padding is included;
 *    the outer pair must equal sky-plan's tunnel usage, frames and bytes;
 *  - tshark's own conversation tables (conv,ip / conv,ipv6) give the same packet counts.
 */
const TSHARK = ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE'];

/** Frames tshark 4.0 cannot decapsulate, with the reason; sky-plan's inner flow replaces tshark's view. */
const TSHARK_STOPS: Record<string, string> = {
  'tcpdump_bigtcp-ipv4-vxlan-ipv4.pcap':
    'tshark stops at a UDP length of 0 (GSO) and never reaches the VXLAN header',
};

function tshark(args: string[]): string {
  const r = spawnSync('tshark', [...TSHARK, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.error, undefined, `tshark must be installed (apt-get install tshark): ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

interface Counts {
  packets: number;
  bytes: number;
}

/**
 * The inner frame's size from tshark's fields: what the outer UDP or GRE payload holds after the tunnel
 * header. A first fragment's payload is cut, so its inner frame is the inner IP packet + inner Ethernet.
 */
function innerFrameBytes(cols: string[], outerIpLength: number, innerIpLength: number): number {
  const [
    ,
    ,
    ,
    ,
    ,
    ,
    ,
    protocols = '',
    udpLength = '',
    greFlags = '',
    erspanVersion = '',
    geneveOptions = '',
    moreFragments = '',
  ] = cols;
  if (moreFragments.startsWith('1')) return innerIpLength + 14;
  const udp = Number(udpLength.split(',')[0]);
  if (protocols.includes(':vxlan:')) return udp - 8 - 8;
  if (protocols.includes(':geneve:')) return udp - 8 - 8 - (geneveOptions.split(',')[0] ?? '').length / 2;
  const flags = Number.parseInt(greFlags.split(',')[0] ?? '0', 16);
  let gre = 4 + [0x8000, 0x2000, 0x1000].filter((bit) => flags & bit).length * 4;
  if (protocols.includes(':erspan:'))
    gre += erspanVersion.startsWith('2') ? 12 : erspanVersion.startsWith('1') ? 8 : 0;
  return outerIpLength - 20 - gre;
}

function add(map: Map<string, Counts>, key: string, bytes: number): void {
  const c = map.get(key) ?? { packets: 0, bytes: 0 };
  c.packets++;
  c.bytes += bytes;
  map.set(key, c);
}

const captures = [
  ...readdirSync(fixture('captures'))
    .filter((f) => /\.pcap(ng)?$/.test(f) && !f.includes('malformed'))
    .map((f) => fixture('captures', f)),
  fixture('cluster', 'cluster.pcap.gz'),
];

describe('byte and packet counts match tshark', () => {
  for (const path of captures) {
    const name = path.split('/').pop() as string;
    it(name, async () => {
      const flows: FlowRecord[] = [];
      const analysis = await analyzeCaptures([{ path }], { onFlow: (r) => flows.push(r) });
      const ours = new Map<string, Counts>();
      for (const f of flows) {
        if (f.layer !== 'ip') continue;
        for (const [dir, from, to] of [
          [0, f.a, f.b],
          [1, f.b, f.a],
        ] as const) {
          const c = ours.get(`${from.address}>${to.address}`) ?? { packets: 0, bytes: 0 };
          c.packets += f.packets[dir];
          c.bytes += f.bytes[dir];
          if (c.packets > 0) ours.set(`${from.address}>${to.address}`, c);
        }
      }
      const tunnels = new Map(analysis.tunnels.map((t) => [`${t.source}>${t.target}`, t]));

      const expectedFlows = new Map<string, Counts>();
      const expectedTunnels = new Map<string, Counts>();
      const undecoded = new Map<string, number>();
      const fields = tshark([
        '-r',
        path,
        '-T',
        'fields',
        '-E',
        'separator=;',
        '-e',
        'frame.len',
        '-e',
        'ip.src',
        '-e',
        'ip.dst',
        '-e',
        'ip.len',
        '-e',
        'ipv6.src',
        '-e',
        'ipv6.dst',
        '-e',
        'ipv6.plen',
        '-e',
        'frame.protocols',
        '-e',
        'udp.length',
        '-e',
        'gre.flags_and_version',
        '-e',
        'erspan.version',
        '-e',
        'geneve.options',
        '-e',
        'ip.flags.mf',
      ]);
      for (const line of fields.split('\n')) {
        if (line === '') continue;
        const cols = line.split(';');
        const [
          len = '0',
          ipSrc = '',
          ipDst = '',
          ipLen = '',
          v6Src = '',
          v6Dst = '',
          v6Len = '',
          protocols = '',
        ] = cols;
        const split = (s: string) => (s === '' ? [] : s.split(','));
        // Layers in order; an IPv6 layer is inner to IPv4 in these fixtures (never 4-in-6).
        const pairs = [
          ...split(ipSrc).map((s, i) => ({
            pair: `${s}>${split(ipDst)[i]}`,
            length: Number(split(ipLen)[i]),
          })),
          ...split(v6Src).map((s, i) => ({
            pair: `${s}>${split(v6Dst)[i]}`,
            length: Number(split(v6Len)[i]) + 40,
          })),
        ];
        // An IP header quoted inside an ICMP error is not a layer of its own.
        if (/icmp(v6)?:ip/.test(protocols)) pairs.splice(1);
        if (pairs.length === 0) continue;
        const outer = pairs[0] as { pair: string; length: number };
        const inner = pairs[pairs.length - 1] as { pair: string; length: number };
        if (tunnels.has(outer.pair)) {
          add(expectedTunnels, outer.pair, Number(len));
          if (pairs.length > 1)
            add(expectedFlows, inner.pair, innerFrameBytes(cols, outer.length, inner.length));
          else undecoded.set(outer.pair, (undecoded.get(outer.pair) ?? 0) + Number(len));
        } else {
          add(expectedFlows, outer.pair, Number(len));
        }
      }

      for (const [pair, t] of tunnels) {
        assert.deepEqual({ packets: t.packets, bytes: t.bytes }, expectedTunnels.get(pair), `tunnel ${pair}`);
      }
      const stop = TSHARK_STOPS[name];
      for (const [pair, c] of ours) {
        const expected = expectedFlows.get(pair);
        if (expected === undefined && stop !== undefined) {
          // tshark saw only the outer frames: the inner frame is the whole frame minus VXLAN's 50 bytes.
          const outerBytes = [...undecoded.values()].reduce((a, b) => a + b, 0);
          assert.equal(c.bytes, outerBytes - 50 * c.packets, `${pair} (${stop})`);
          continue;
        }
        assert.deepEqual(c, expected, `flow ${pair}`);
      }
      for (const pair of expectedFlows.keys())
        assert.ok(ours.has(pair), `tshark has ${pair}, sky-plan does not`);

      // tshark's conversation tables: packets per unordered pair, outer and inner layers alike.
      for (const table of ['conv,ip', 'conv,ipv6']) {
        const out = tshark(['-q', '-z', table, '-r', path]);
        for (const m of out.matchAll(
          /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\d+\s+\S+\s+(\d+)\s+\d+\s+\S+\s+(\d+)/gm,
        )) {
          const [, a, b, , , total] = m;
          const both = a === b ? [`${a}>${b}`] : [`${a}>${b}`, `${b}>${a}`];
          const fromFlows = both.reduce((s, k) => s + (ours.get(k)?.packets ?? 0), 0);
          const fromTunnels = both.reduce((s, k) => s + (tunnels.get(k)?.packets ?? 0), 0);
          if (fromFlows === 0 && fromTunnels === 0)
            assert.fail(`tshark ${table} has ${a} <-> ${b}, sky-plan does not`);
          const ourTotal =
            tunnels.has(both[0] as string) || tunnels.has(both[1] as string) ? fromTunnels : fromFlows;
          assert.equal(ourTotal, Number(total), `${table} ${a} <-> ${b}`);
        }
      }
    });
  }
});
