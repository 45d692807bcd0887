import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyStats } from '../../capture/decode-stats.js';
import { FLOW_FLAG, WINDOW_SCHEMA, type WindowDocument } from '../../capture/window-document.js';
import { Aggregator, RefusedWindow } from '../../src/collect/aggregator.js';
import { readWindow } from '../../src/collect/read-window.js';

function window(seq: number, overrides: Partial<WindowDocument> = {}): WindowDocument {
  return {
    schema: WINDOW_SCHEMA,
    id: `c1/100/${seq}`,
    collector: 'c1',
    host: 'hv1',
    instance: '100',
    seq,
    window: { seconds: 60, index: 29_000_000 + seq },
    byteCount: 'wire',
    interfaces: [{ name: 'vnet0', received: 10, dropped: 1, ifDropped: 0, countedElsewhere: 0 }],
    decode: emptyStats(),
    vms: [{ name: 'web', mac: '52:54:00:00:00:01', interface: 'vnet0' }],
    arp: [],
    endpoints: [
      [4, '10.0.0.1', '52:54:00:00:00:01', null, null],
      [4, '10.0.0.2', '52:54:00:00:00:02', null, null],
    ],
    flows: [[0, 1, 1500, 1, FLOW_FLAG.newFlow]],
    ...overrides,
  };
}

describe('aggregator', () => {
  it('counts a window once however often it arrives, names libvirt VMs, reports drops', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    assert.equal(agg.addWindow(window(0)), true);
    assert.equal(agg.addWindow(window(0)), false);
    assert.equal(agg.addWindow(window(1)), true);
    assert.equal(agg.addWindow(window(1)), false);
    const analysis = agg.analysis();
    const edge = [...analysis.traffic.edges.values()][0];
    assert.deepEqual([edge?.bytes, edge?.packets, edge?.flows], [3000, 2, 2]);
    assert.equal(analysis.traffic.nodes[0]?.id, 'web');
    assert.equal(analysis.traffic.nodes[0]?.host, 'hv1');
    assert.deepEqual(analysis.captures[0]?.interfaces, [
      { name: 'vnet0', received: 20, dropped: 2, ifDropped: 0, countedElsewhere: 0 },
    ]);
    assert.match(analysis.warnings.join('\n'), /vnet0: 2 frames dropped by the kernel/);
    assert.match(analysis.warnings.join('\n'), /2 windows were received again/);
  });

  it('a restarted collector (new instance) counts from its first window', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    agg.addWindow(window(5));
    assert.equal(agg.addWindow(window(0, { instance: '200', id: 'c1/200/0' })), true);
    assert.equal([...agg.traffic.edges.values()][0]?.bytes, 3000);
  });

  it('refuses what it cannot count, whole: wrong byte count, broken documents', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    assert.throws(() => agg.addWindow(window(0, { byteCount: 'payload' })), RefusedWindow);
    assert.equal(agg.traffic.edges.size, 0);
    const broken = JSON.parse(JSON.stringify(window(0)));
    broken.flows[0][1] = 7;
    assert.throws(() => readWindow(broken), /flows\.0: .*endpoints below 2/);
    assert.throws(() => readWindow({ ...window(0), seq: -1 }), /^Error: seq: /);
    assert.throws(() => readWindow({ ...window(0), schema: 'other' }), /schema/);
    assert.throws(() => readWindow('nonsense'), /document/);
  });
});
