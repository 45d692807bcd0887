import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runCli, talkGraph, writeTemp } from '../helpers.js';

interface Move {
  vm: string;
  to: string;
  fromHost: string | null;
  toHost: string | null;
}

/**
 * v1..v4 (2 vCPUs, 2 GiB each) on host a1 talk to y, pinned in the cheaper cloud b. b's cloud-wide
 * capacity holds all four; its hosts hold three: b1 has 4 vCPUs, b2 has 2.
 */
function spec(vms = ['v1', 'v2', 'v3', 'v4']): string {
  return writeTemp(
    'hosts.json',
    JSON.stringify({
      clouds: [
        { name: 'a', compute: { vmHour: 1 }, egress: { default: 0.09 } },
        { name: 'b', compute: { vmHour: 0.1 }, egress: { default: 0.09 }, capacity: { vcpus: 16 } },
      ],
      hosts: [
        { name: 'a1', cloud: 'a' },
        { name: 'b1', cloud: 'b', capacity: { vcpus: 4, memoryGiB: 64 } },
        { name: 'b2', cloud: 'b', capacity: { vcpus: 2, memoryGiB: 64 } },
        { name: 'b3', cloud: 'b', capacity: { vcpus: 8, memoryGiB: 1 } },
      ],
      vms: [
        ...vms.map((name) => ({ name, host: 'a1', vcpus: 2, memoryGiB: 2 })),
        { name: 'y', host: 'b3', vcpus: 1, memoryGiB: 0.5, pinned: true },
      ],
    }),
  );
}

function plan(vms?: string[]): {
  doc: { moves: Move[]; notes: string[] };
  path: string;
  clouds: string;
  graph: string;
} {
  const names = vms ?? ['v1', 'v2', 'v3', 'v4'];
  const graph = talkGraph(writeTemp('g.json', ''), names, 'y');
  const clouds = spec(names);
  const r = runCli(['plan', '-g', graph, '-c', clouds, '--json', '--horizon', '30d']);
  assert.equal(r.status, 0, r.stderr);
  return { doc: JSON.parse(r.stdout), path: writeTemp('plan.json', r.stdout), clouds, graph };
}

describe('sky-plan plan places moving VMs on hosts', () => {
  it('picks a destination host with room for each VM, and says so in the table', () => {
    const { doc, clouds, graph } = plan(['v1', 'v2', 'v3']);
    const to = Object.fromEntries(doc.moves.map((m) => [m.vm, m.toHost]));
    assert.deepEqual(to, { v1: 'b2', v2: 'b1', v3: 'b1' });
    assert.ok(doc.moves.every((m) => m.fromHost === 'a1' && m.to === 'b'));
    const text = runCli(['plan', '-g', graph, '-c', clouds, '--horizon', '30d']);
    assert.match(text.stdout, /v1 +a \(a1\) +b \(b2\)/);
  });

  it('names a VM no host has room for, and execute refuses its move before starting anything', () => {
    const { doc, path, clouds } = plan();
    const unplaced = doc.moves.filter((m) => m.toHost === null).map((m) => m.vm);
    assert.deepEqual(unplaced, ['v4']);
    assert.match(
      doc.notes.join('\n'),
      /VM v4: no host in b has room for it \(2 vCPUs, 2 GiB\); the roomiest, b3, has 7 vCPUs and 0.5 GiB left/,
    );
    const r = runCli(['execute', '--plan', path, '--clouds', clouds, '--driver', 'dry-run']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /move of v4 \(a → b\): no destination host, though b lists hosts/);
  });

  it('refuses a hand-edited plan whose hosts are unknown, in the wrong cloud or not where the VM runs', () => {
    const { doc, path, clouds } = plan(['v1', 'v2', 'v3']);
    const edited = JSON.parse(JSON.stringify(doc));
    for (const m of edited.moves as Move[]) {
      if (m.vm === 'v1') m.toHost = 'nowhere';
      if (m.vm === 'v2') m.toHost = 'a1';
      if (m.vm === 'v3') m.fromHost = 'b3';
    }
    const r = runCli([
      'execute',
      '--plan',
      writeTemp(
        'edited.json',
        JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), moves: edited.moves }),
      ),
      '--clouds',
      clouds,
    ]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /move of v1 \(a → b\): the clouds spec has no host nowhere/);
    assert.match(r.stderr, /move of v2 \(a → b\): host a1 is in a, not b/);
    assert.match(r.stderr, /move of v3 \(a → b\): host b3 is in b, not a/);
    assert.match(r.stderr, /the inventory has v3 on host a1, not b3/);
  });
});
