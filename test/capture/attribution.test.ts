import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Attribution, NO_MAC_ID } from '../../capture/attribution.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { parseInventory } from '../../src/inventory/load-inventory.js';
import { frame, hex, pcapFile, tcpFrame, writeTemp } from '../helpers.js';

const inventory = await parseInventory(
  `clouds: [{ name: rennes }, { name: chicago }]
vms:
  - { name: h0, cloud: rennes, nics: [{ mac: "02:00:00:00:00:01", ips: ["10.0.0.1"] }] }
  - { name: h1, cloud: chicago, nics: [{ ips: ["10.0.0.2"], vni: 7 }] }
  - { name: h2, cloud: chicago, nics: [{ ips: ["10.0.0.2"], vni: 8 }] }
`,
  'inline.yaml',
);

function vxlan(vni: number, inner: Buffer): Buffer {
  return Buffer.concat([
    frame.eth('02:aa:00:00:00:02', '02:aa:00:00:00:01', 0x0800),
    frame.ipv4('172.16.0.1', '172.16.0.2', 17, 16 + inner.length),
    frame.udp(1, 4789, 8 + inner.length),
    frame.vxlan(vni),
    inner,
  ]);
}

describe('attribution', () => {
  it('matches by MAC first, then by IP within the overlay; unknowns become unknown or external', async () => {
    const arp = Buffer.concat([
      frame.eth('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:99', 0x0806),
      hex('0001 0800 06 04 0001 020000000099 0a000063 000000000000 0a000001'),
    ]);
    const path = writeTemp(
      'attr.pcap',
      pcapFile([
        { data: tcpFrame('10.9.9.9', '10.0.0.2', 1, 2) }, // h0's MAC wins over an unknown IP; 10.0.0.2 exists only in VNIs 7 and 8
        { data: vxlan(7, tcpFrame('10.0.0.5', '10.0.0.2', 1, 2).fill(0x06, 0, 12)) },
        { data: vxlan(8, tcpFrame('10.0.0.5', '10.0.0.2', 1, 2, 10).fill(0x06, 0, 12)) },
        { data: arp },
        { data: tcpFrame('10.0.0.99', '10.0.0.1', 1, 2).fill(0x07, 6, 12) },
        { data: tcpFrame('8.8.8.8', '10.0.0.1', 53, 2).fill(0x08, 6, 12) },
      ]),
    );
    const a = await analyzeCaptures([{ path }], { inventory });
    const edges = [...a.traffic.edges.values()]
      .map((e) => `${a.traffic.nodes[e.source]?.id}>${a.traffic.nodes[e.target]?.id}:${e.bytes}`)
      .sort();
    assert.deepEqual(edges, [
      '10.0.0.99>h0:54',
      'external>h0:54',
      'external>h1:54',
      'external>h2:64',
      'h0>external:54',
    ]);
    const kinds = Object.fromEntries(a.traffic.nodes.map((n) => [n.id, n.kind]));
    assert.equal(kinds['10.0.0.99'], 'unknown');
    assert.equal(kinds.external, 'external');
    assert.equal(a.traffic.nodes.find((n) => n.id === 'h1')?.cloud, 'chicago');
    assert.equal(a.traffic.nodes.find((n) => n.id === '10.0.0.99')?.broadcastPackets, 1);
  });

  it('without an inventory, a node is an address', async () => {
    const path = writeTemp('plain.pcap', pcapFile([{ data: tcpFrame('10.0.0.1', '10.0.0.2', 1, 2) }]));
    const a = await analyzeCaptures([{ path }]);
    assert.deepEqual(
      a.traffic.nodes.map((n) => [n.id, n.kind]),
      [
        ['10.0.0.1', 'host'],
        ['10.0.0.2', 'host'],
      ],
    );
  });

  it('names the unknown far end of a non-IP frame (no MAC in the capture) as such, not as a made-up MAC', () => {
    for (const known of [undefined, []]) {
      const a = new Attribution(known);
      assert.deepEqual(a.resolve({ version: 0, words: [], mac: -1, vlan: -1, vni: -1 }), {
        id: NO_MAC_ID,
        kind: 'unknown',
      });
      assert.equal(
        a.resolve({ version: 0, words: [], mac: 0x020000000001, vlan: -1, vni: -1 }).id,
        known === undefined ? '02:00:00:00:00:01' : 'external',
      );
    }
  });
});
