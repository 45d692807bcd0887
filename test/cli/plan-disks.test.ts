// @integration: needs qemu-img, qemu-io
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli, tempDir, writeTemp } from '../helpers.js';

const MIB = 1 << 20;
let dir: string;
let base: string;
const overlays: Record<string, string> = {};

/** Real images: a base with 16 MiB of data, and an overlay per VM with `own` MiB of its own. */
before(() => {
  dir = tempDir();
  base = join(dir, 'base.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, String(256 * MIB)]);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x11 0 ${16 * MIB}`, base], { stdio: 'pipe' });
  for (const [vm, own] of [
    ['v1', 2],
    ['v2', 6],
  ] as const) {
    const path = join(dir, `${vm}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', path]);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x22 ${32 * MIB} ${own * MIB}`, path], {
      stdio: 'pipe',
    });
    overlays[vm] = path;
  }
});

/** v1 and v2 in cloud a talk to y in the cheaper cloud b; their disks are overlays on one image. */
function plan(
  image: object,
  extra: { v1Disk?: object; horizon?: string } = {},
): {
  status: number;
  stderr: string;
  doc: {
    moves: { vm: string; wanBytes: number; memoryBytes: number; diskBytes: number }[];
    sharedContent: { image: string; to: string; bytes: number; diskBytes: number }[];
    notes: string[];
    placement: Record<string, string>;
  };
} {
  const graph = writeTemp(
    'g.json',
    JSON.stringify({
      schema: 'sky-plan/graph@1',
      timeRange: { seconds: 60 },
      nodes: [{ id: 'v1' }, { id: 'v2' }, { id: 'y' }],
      edges: [
        { source: 'v1', target: 'y', bytes: 6e9, packets: 5e6 },
        { source: 'v2', target: 'y', bytes: 6e9, packets: 5e6 },
      ],
    }),
  );
  const inventory = writeTemp(
    'inv.json',
    JSON.stringify({
      clouds: [
        { name: 'a', compute: { vmHour: 1 }, egress: { default: 0.09 } },
        { name: 'b', compute: { vmHour: 0.1 }, egress: { default: 0.09 } },
      ],
      vms: [
        {
          name: 'v1',
          cloud: 'a',
          memoryGiB: 0.25,
          image: 'deb',
          disks: [{ device: 'vda', path: overlays.v1, ...extra.v1Disk }],
        },
        {
          name: 'v2',
          cloud: 'a',
          memoryGiB: 0.25,
          image: 'deb',
          disks: [{ device: 'vda', path: overlays.v2 }],
        },
        { name: 'y', cloud: 'b', memoryGiB: 0.25, pinned: true },
      ],
      images: [{ name: 'deb', ...image }],
    }),
  );
  const r = runCli(['plan', '-g', graph, '-c', inventory, '--json', '--horizon', extra.horizon ?? '30d']);
  return { status: r.status, stderr: r.stderr, doc: r.status === 0 ? JSON.parse(r.stdout) : undefined };
}

describe('sky-plan plan counts the disks a move takes along', () => {
  it("an overlay's own blocks cross with its VM; the base crosses once per cloud (sizes from qemu-img)", () => {
    const { status, stderr, doc } = plan({});
    assert.equal(status, 0, stderr);
    const allocated = (path: string) => statSync(path).blocks * 512;
    for (const vm of ['v1', 'v2']) {
      const move = doc.moves.find((m) => m.vm === vm);
      assert.ok(move !== undefined, `${vm} moves to b`);
      assert.equal(move.diskBytes, allocated(overlays[vm] as string), `${vm}: its overlay, as qemu-img says`);
      assert.equal(move.memoryBytes, 0.25 * 2 ** 30);
      assert.equal(move.wanBytes, move.memoryBytes + move.diskBytes);
    }
    assert.deepEqual(doc.sharedContent, [
      { image: 'deb', to: 'b', bytes: allocated(base), diskBytes: allocated(base) },
    ]);
    assert.ok(allocated(base) > 16 * MIB);
    assert.match(
      doc.notes.join('\n'),
      /VM v1: disk vda: qcow2, \d+ bytes allocated over .*base\.qcow2 \(from qemu-img info\)/,
    );
    assert.match(doc.notes.join('\n'), /image deb: base image \d+ bytes allocated \(from qemu-img info\)/);
  });

  it('a base image already stored at the destination does not cross', () => {
    const { status, stderr, doc } = plan({ at: { b: '/srv/b/deb.qcow2' } });
    assert.equal(status, 0, stderr);
    assert.equal(doc.moves.length, 2);
    assert.deepEqual(doc.sharedContent, []);
  });

  it('disk bytes are in the objective: a VM whose disk costs more to move than it saves stays', () => {
    // 5 TB at $0.09/GB is $450: more than the ~$34 that moving saves in an hour (100 MB/s of egress and
    // $0.9 of compute), while v2's few megabytes cost a cent.
    const { status, stderr, doc } = plan(
      { at: { b: '/srv/b/deb.qcow2' } },
      { v1Disk: { allocatedBytes: 5e12 }, horizon: '1h' },
    );
    assert.equal(status, 0, stderr);
    assert.equal(doc.placement.v1, 'a');
    assert.equal(doc.placement.v2, 'b');
  });

  it('a disk that qemu-img cannot read and that has no size is named in the notes', () => {
    const { status, stderr, doc } = plan({}, { v1Disk: { path: join(dir, 'missing.qcow2') } });
    assert.equal(status, 0, stderr);
    assert.match(doc.notes.join('\n'), /VM v1: disk vda: .*missing\.qcow2: not readable by qemu-img here/);
    assert.equal(doc.moves.find((m) => m.vm === 'v1')?.diskBytes, 0);
  });

  it('refuses a disk listed twice and an image stored in an unknown cloud, pointing at the line', () => {
    const twice = writeTemp(
      'twice.yaml',
      `vms:
  - name: v1
    disks:
      - { device: vda, path: /a.qcow2 }
      - { device: vda, path: /b.qcow2 }
`,
    );
    const graph = writeTemp(
      'empty.json',
      JSON.stringify({ schema: 'sky-plan/graph@1', nodes: [], edges: [] }),
    );
    const r = runCli(['plan', '-g', graph, '-c', twice]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /twice\.yaml:5:\d+: vms\[0\]\.disks\[1\]\.device: duplicate disk "vda"/);
    const unknown = writeTemp(
      'unknown.yaml',
      `clouds: [{ name: a }]
images:
  - name: deb
    at: { mars: /srv/deb.qcow2 }
`,
    );
    const u = runCli(['plan', '-g', graph, '-c', unknown]);
    assert.equal(u.status, 3);
    assert.match(u.stderr, /unknown\.yaml:4:\d+: images\[0\]\.at\.mars: unknown cloud "mars"/);
  });
});
