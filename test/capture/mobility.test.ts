import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { arpFrame as arp, frame, pcapFile, runCli, tempDir } from '../helpers.js';

const WEB = '02:00:00:00:00:10';
const DB = '02:00:00:00:00:20';

const udpFrom = (mac: string, src: string, dst: string) =>
  Buffer.concat([
    frame.eth(DB, mac, 0x0800),
    frame.ipv4(src, dst, 17, 8 + 100),
    frame.udp(4000, 5000, 100),
    Buffer.alloc(100),
  ]);

/**
 * Captures of two hypervisors: web sends to db behind a at t=100-110; behind b, `announce` frames, then
 * web sends at t=121-125, then `after` frames.
 */
function twoHypervisors(announce: { data: Buffer; ts: number }[], after: { data: Buffer; ts: number }[]) {
  const dir = tempDir();
  const a = join(dir, 'a.pcap');
  const b = join(dir, 'b.pcap');
  const send = (ts: number) => ({ data: udpFrom(WEB, '10.0.0.10', '10.0.0.20'), ts });
  writeFileSync(a, pcapFile(Array.from({ length: 11 }, (_, i) => send(100 + i))));
  writeFileSync(b, pcapFile([...announce, ...Array.from({ length: 5 }, (_, i) => send(121 + i)), ...after]));
  return { dir, a, b };
}

/** web on hv-a in rennes, db on hv-b in chicago. */
function hostsInventory(dir: string): string {
  const inventory = join(dir, 'inventory.json');
  writeFileSync(
    inventory,
    JSON.stringify({
      clouds: [{ name: 'rennes' }, { name: 'chicago' }],
      hosts: [
        { name: 'hv-a', cloud: 'rennes' },
        { name: 'hv-b', cloud: 'chicago' },
      ],
      vms: [
        { name: 'web', cloud: 'rennes', host: 'hv-a', nics: [{ mac: WEB, ips: ['10.0.0.10'] }] },
        { name: 'db', cloud: 'chicago', host: 'hv-b', nics: [{ mac: DB, ips: ['10.0.0.20'] }] },
      ],
    }),
  );
  return inventory;
}

describe('VM mobility in captures', () => {
  it('names the RARP burst, the gratuitous ARP and the host change of a migrated VM, with their times', () => {
    // web sends behind hypervisor a until t=110, announces itself behind b at t=120 (QEMU sends 5 RARPs),
    // then sends from b; db answers a gratuitous ARP on b at t=125.
    const { dir, a, b } = twoHypervisors(
      Array.from({ length: 5 }, (_, i) => ({
        data: arp(0x8035, 3, WEB, '0.0.0.0', '0.0.0.0'),
        ts: 120 + i * 0.1,
      })),
      [{ data: arp(0x0806, 1, DB, '10.0.0.20', '10.0.0.20'), ts: 125 }],
    );
    const inventory = join(dir, 'inventory.json');
    writeFileSync(
      inventory,
      JSON.stringify({
        clouds: [{ name: 'rennes' }, { name: 'chicago' }],
        vms: [
          { name: 'web', cloud: 'chicago', nics: [{ mac: WEB, ips: ['10.0.0.10'] }] },
          { name: 'db', cloud: 'chicago', nics: [{ mac: DB, ips: ['10.0.0.20'] }] },
        ],
      }),
    );
    const r = runCli(['analyze', `hv-a=${a}`, `hv-b=${b}`, '-i', inventory, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const events = (JSON.parse(r.stdout) as { mobility: Record<string, unknown>[] }).mobility.map(
      ({ capture: _, ...e }) => e,
    );
    assert.deepEqual(events, [
      { time: 120, mac: WEB, vm: 'web', kind: 'rarp', host: 'hv-b', frames: 5 },
      { time: 120, mac: WEB, vm: 'web', kind: 'host-change', host: 'hv-b', from: 'hv-a', frames: 1 },
      { time: 125, mac: DB, vm: 'db', kind: 'garp', host: 'hv-b', frames: 1 },
    ]);
    const summary = runCli(['analyze', `hv-a=${a}`, `hv-b=${b}`, '-i', inventory]);
    assert.match(summary.stdout, /VM mobility/);
    assert.match(summary.stdout, /web\s+02:00:00:00:00:10\s+RARP announcement ×5 on hv-b/);
    assert.match(summary.stdout, /web\s+02:00:00:00:00:10\s+sends behind hv-b now, no longer behind hv-a/);
  });

  it("counts a moved VM's traffic in the cloud it was in at the time (with windows)", () => {
    // web sends to db from hv-a (rennes) for 11 s, then moves to hv-b (chicago) and sends 5 s more.
    const { dir, a, b } = twoHypervisors([{ data: arp(0x8035, 3, WEB, '0.0.0.0', '0.0.0.0'), ts: 120 }], []);
    const inventory = hostsInventory(dir);
    const r = runCli(['analyze', `hv-a=${a}`, `hv-b=${b}`, '-i', inventory, '--window', '1s', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      nodes: { id: string; moved?: unknown }[];
      summary: { cloudPairs: { from: string; to: string; packets: number }[] };
    };
    assert.deepEqual(doc.nodes.find((n) => n.id === 'web')?.moved, {
      time: 120,
      from: 'rennes',
      to: 'chicago',
    });
    const packets = Object.fromEntries(doc.summary.cloudPairs.map((p) => [`${p.from}>${p.to}`, p.packets]));
    assert.equal(packets['rennes>chicago'], 11, 'before the move: from rennes');
    assert.equal(packets['chicago>chicago'], 5, 'after the move: inside chicago');
  });

  it('the announcement flooded back to the old tap does not undo the move', () => {
    // The bridge floods web's RARP from hv-b to every port, its old tap on hv-a among them (the source
    // QEMU still holds it), where it shows with web's own MAC a few microseconds later.
    const dir = tempDir();
    const send = (ts: number) => ({ data: udpFrom(WEB, '10.0.0.10', '10.0.0.20'), ts });
    const rarp = (ts: number) => ({ data: arp(0x8035, 3, WEB, '0.0.0.0', '0.0.0.0'), ts });
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    writeFileSync(a, pcapFile([...Array.from({ length: 11 }, (_, i) => send(100 + i)), rarp(120.00004)]));
    writeFileSync(b, pcapFile([rarp(120), ...Array.from({ length: 5 }, (_, i) => send(121 + i))]));
    const inventory = hostsInventory(dir);
    // In either order of the captures.
    for (const files of [
      [`hv-a=${a}`, `hv-b=${b}`],
      [`hv-b=${b}`, `hv-a=${a}`],
    ]) {
      const r = runCli(['analyze', ...files, '-i', inventory, '--window', '1s', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as {
        summary: { cloudPairs: { from: string; to: string; packets: number }[] };
      };
      const packets = Object.fromEntries(doc.summary.cloudPairs.map((p) => [`${p.from}>${p.to}`, p.packets]));
      assert.equal(packets['rennes>chicago'], 11, files.join(' '));
      assert.equal(packets['chicago>chicago'], 5, files.join(' '));
    }
  });
});
