import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PlanDocument } from '../../src/plan/plan-document.js';
import { fixture, runCli, tempDir, writeScript } from '../helpers.js';

const planPath = fixture('golden', 'cluster-plan.json');
const plan = JSON.parse(readFileSync(planPath, 'utf8')) as PlanDocument;

/** The bundled cluster's clouds, each with libvirt and qmp settings, as the executor reads them. */
function cloudsSpec(dir: string): string {
  const path = join(dir, 'clouds.json');
  const clouds = plan.clouds.map((c) => ({
    name: c.name,
    libvirt: { uri: `qemu+ssh://${c.name}-hv1/system`, migrateUri: `tcp:tunnel.${c.name}:49152` },
    qmp: { socket: join(dir, c.name, '{vm}.qmp'), launch: 'false {socket}' },
  }));
  writeFileSync(path, JSON.stringify({ clouds }));
  return path;
}

const move = (vm: string, from: string, to: string) => ({
  vm,
  from,
  to,
  vcpus: 2,
  memoryGiB: 4,
  image: null,
  wanBytes: 4e9,
  seconds: 32,
  cost: 0.36,
  bringsTogether: [],
  separates: [],
});
const cost = { egress: 0, internet: 0, compute: 0, migration: 0, total: 0 };

/** Two VMs swapping between two full clouds, and no third cloud. */
function swapPlan(dir: string): string {
  const swap = {
    ...plan,
    placement: { x: 'b', y: 'a' },
    clouds: ['a', 'b'].map((name) => ({
      name,
      capacity: { vcpus: null, memoryGiB: null, vms: 1 },
      wanBytesPerSecond: { [name === 'a' ? 'b' : 'a']: 125e6 },
    })),
    moves: [move('x', 'a', 'b'), move('y', 'b', 'a')],
    before: {
      ...plan.before,
      cost,
      load: ['a', 'b'].map((cloud) => ({ cloud, vcpus: 2, memoryGiB: 4, vms: 1 })),
    },
  };
  const path = join(dir, 'swap.json');
  writeFileSync(path, JSON.stringify(swap));
  return path;
}

describe('sky-plan execute', () => {
  it('dry-run prints every move of the plan in waves', () => {
    const text = runCli(['execute', '--plan', planPath]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${plan.moves.length} migrations in \\d+ waves`));
    const json = runCli(['execute', '--plan', planPath, '--json']);
    const { waves } = JSON.parse(json.stdout) as { waves: { migrations: { vm: string }[] }[] };
    assert.deepEqual(
      waves.flatMap((w) => w.migrations.map((m) => m.vm)).sort(),
      plan.moves.map((m) => m.vm).sort(),
    );
  });

  it('script: a valid shell script of the exact virsh commands, one wave after another', () => {
    const dir = tempDir();
    const out = join(dir, 'migrate.sh');
    const r = writeScript(planPath, cloudsSpec(dir), out);
    assert.equal(r.status, 0, r.stderr);
    const script = readFileSync(out, 'utf8');
    assert.equal(spawnSync('sh', ['-n', out]).status, 0, 'sh -n accepts it');
    for (const m of plan.moves) {
      const mib = Math.ceil(m.wanBytes / m.seconds / 2 ** 20);
      assert.ok(
        script.includes(
          `virsh -c qemu+ssh://${m.from}-hv1/system migrate --live --persistent --undefinesource --auto-converge --verbose --copy-storage-all --bandwidth ${mib} --migrateuri tcp:tunnel.${m.to}:49152 ${m.vm} qemu+ssh://${m.to}-hv1/system`,
        ),
        m.vm,
      );
    }
    const waves = runCli(['execute', '--plan', planPath, '--json']);
    const count = (JSON.parse(waves.stdout) as { waves: unknown[] }).waves.length;
    assert.equal(script.match(/^wait$/gm)?.length, count);
  });

  it('script: a failed migration skips the moves that need its room, the others go on, and it exits 1', () => {
    // a holds one VM at most: y (c → a) waits for x (a → b) to leave; z (c → b) needs nothing.
    const dir = tempDir();
    const chain = {
      ...plan,
      placement: { x: 'b', y: 'a', z: 'b' },
      clouds: ['a', 'b', 'c'].map((name) => ({
        name,
        capacity: { vcpus: null, memoryGiB: null, vms: name === 'a' ? 1 : null },
        wanBytesPerSecond: Object.fromEntries(
          ['a', 'b', 'c'].filter((o) => o !== name).map((o) => [o, 125e6]),
        ),
      })),
      moves: [move('x', 'a', 'b'), move('y', 'c', 'a'), move('z', 'c', 'b')],
      before: {
        ...plan.before,
        cost,
        load: [
          { cloud: 'a', vcpus: 2, memoryGiB: 4, vms: 1 },
          { cloud: 'b', vcpus: 0, memoryGiB: 0, vms: 0 },
          { cloud: 'c', vcpus: 4, memoryGiB: 8, vms: 2 },
        ],
      },
    };
    const planFile = join(dir, 'chain.json');
    writeFileSync(planFile, JSON.stringify(chain));
    const clouds = join(dir, 'clouds.json');
    writeFileSync(
      clouds,
      JSON.stringify({
        clouds: ['a', 'b', 'c'].map((name) => ({ name, libvirt: { uri: `test:///${name}` } })),
      }),
    );
    const out = join(dir, 'migrate.sh');
    const r = writeScript(planFile, clouds, out);
    assert.equal(r.status, 0, r.stderr);
    // Only the script's own control flow is under test here (the real virsh runs in test/libvirt): a
    // virsh that logs its call and refuses x's migration.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'virsh'),
      `#!/bin/sh\necho "$*" >> ${dir}/calls\ncase "$*" in *" x test:///b") exit 1;; esac\n`,
      { mode: 0o755 },
    );
    const run = spawnSync('sh', [out], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /x: a → b: FAILED/);
    assert.match(run.stdout, /summary:\n {2}x: a → b: FAILED, still at its source\n/);
    assert.match(run.stdout, / {2}y: c → a: skipped: a move it depends on failed\n/);
    assert.match(run.stdout, / {2}z: c → b: done\n/);
    const calls = readFileSync(join(dir, 'calls'), 'utf8');
    assert.match(calls, / z test:\/\/\/b/);
    assert.doesNotMatch(calls, / y test:\/\/\/a/, 'y never started');
  });

  it('refuses to start, naming the reason, when a VM is not where the plan says', () => {
    const dir = tempDir();
    const journal = join(dir, 'j');
    const r = runCli([
      'execute',
      '--plan',
      planPath,
      '--clouds',
      cloudsSpec(dir),
      '--driver',
      'qmp',
      '--journal',
      journal,
    ]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /pre-flight checks failed, nothing was moved/);
    for (const m of plan.moves)
      assert.match(r.stderr, new RegExp(`${m.vm} is not running in ${m.from} \\(no QMP socket`));
    assert.doesNotMatch(r.stderr, /at .*\.js/);
  });

  it('names the deadlock of a swap between two full clouds', () => {
    const r = runCli(['execute', '--plan', swapPlan(tempDir())]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /no safe order: x \(a → b\) waits for room in b; y \(b → a\) waits for room in a/);
  });

  it('will not overwrite a journal, and resumes only its own plan', () => {
    const dir = tempDir();
    const journal = join(dir, 'j');
    writeFileSync(journal, `${JSON.stringify({ type: 'begin', plan: 'another', migrations: 1 })}\n`);
    const clouds = cloudsSpec(dir);
    const exists = runCli([
      'execute',
      '--plan',
      planPath,
      '--clouds',
      clouds,
      '--driver',
      'qmp',
      '--journal',
      journal,
    ]);
    assert.equal(exists.status, 2);
    assert.match(exists.stderr, /exists: resume that run with --resume/);
    const other = runCli([
      'execute',
      '--plan',
      planPath,
      '--clouds',
      clouds,
      '--driver',
      'qmp',
      '--resume',
      journal,
    ]);
    assert.equal(other.status, 2);
    assert.match(other.stderr, /belongs to another plan/);
  });
});

describe('sky-plan verify', () => {
  const capture = fixture('cluster', 'cluster.pcap.gz');
  const inventory = fixture('cluster', 'inventory.yaml');

  it('finds the predicted cross-cloud traffic in the capture the plan was made from', () => {
    const r = runCli(['verify', '--plan', planPath, '-i', inventory, capture, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { rows: { predicted: number; measured: number }[]; unseen: string[] };
    assert.equal(v.rows.length, plan.after.crossCloud.length);
    for (const row of v.rows)
      assert.ok(Math.abs(row.measured - row.predicted) <= 1e-9 * row.predicted, JSON.stringify(row));
    assert.deepEqual(v.unseen, []);
  });

  it('shows the gap when the traffic no longer fits the plan', () => {
    // The same capture against a plan that expected the pairs the other way round.
    const dir = tempDir();
    const swapped = {
      ...plan,
      after: {
        ...plan.after,
        crossCloud: plan.after.crossCloud.map((p) => ({ ...p, from: p.to, to: p.from })),
      },
    };
    const path = join(dir, 'plan.json');
    writeFileSync(path, JSON.stringify(swapped));
    const r = runCli(['verify', '--plan', path, '-i', inventory, capture]);
    assert.equal(r.status, 5, 'beyond the tolerance: exit 5');
    assert.match(r.stdout, /chicago\s+rennes\s+31\.9 kB\/s\s+1\.33 kB\/s\s+0\.04×\s+differs/);
    assert.match(r.stdout, /rennes\s+chicago\s+1\.33 kB\/s\s+31\.9 kB\/s\s+24\.\d\d×\s+differs/);
    assert.match(r.stdout, /does not bear the plan out \(tolerance 25%\): exit 5/);
    // The totals are the same both ways round: only the pairs tell, and a tolerance of 100% accepts it.
    assert.equal(runCli(['verify', '--plan', path, '-i', inventory, capture, '--tolerance', '1']).status, 0);
  });

  it("exits 5 when the capture holds none of the plan's VMs (the wrong hosts were captured)", () => {
    const other = fixture('captures', 'flowtest_vxlan.pcap');
    const r = runCli(['verify', '--plan', planPath, '-i', inventory, other, '--json']);
    assert.equal(r.status, 5, r.stderr);
    const v = JSON.parse(r.stdout) as { unseen: string[]; holds: boolean };
    assert.equal(v.unseen.length, Object.keys(plan.placement).length);
    assert.equal(v.holds, false);
  });

  it('takes a measured total within the tolerance, and refuses one beyond it', () => {
    // The plan predicted 30% more than the capture shows, on every pair.
    const dir = tempDir();
    const scaled = (f: number) => {
      const path = join(dir, `plan-${f}.json`);
      const after = {
        ...plan.after,
        crossCloud: plan.after.crossCloud.map((p) => ({ ...p, bytesPerSecond: p.bytesPerSecond * f })),
      };
      writeFileSync(path, JSON.stringify({ ...plan, after }));
      return path;
    };
    assert.equal(
      runCli(['verify', '--plan', scaled(1.3), '-i', inventory, capture]).status,
      0,
      '23% apart, within 25%',
    );
    assert.equal(runCli(['verify', '--plan', scaled(1.5), '-i', inventory, capture]).status, 5, '33% apart');
    assert.equal(
      runCli(['verify', '--plan', scaled(1.3), '-i', inventory, capture, '--tolerance', '0.2']).status,
      5,
    );
    assert.equal(
      runCli(['verify', '--plan', planPath, '-i', inventory, capture, '--tolerance', 'x']).status,
      2,
    );
  });
});
