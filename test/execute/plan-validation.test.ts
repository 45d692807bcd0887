import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PlanDocument } from '../../src/plan/plan-document.js';
import { CLI, fixture, ROOT, tempDir } from '../helpers.js';

const plan = JSON.parse(readFileSync(fixture('golden', 'cluster-plan.json'), 'utf8')) as PlanDocument;

function write(dir: string, name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

/** Each cloud runs `touch MARKER` as its launch command: a QEMU that must never be started here. */
function cloudsSpec(dir: string, marker: string, extra: object = {}): string {
  return write(dir, 'clouds.json', {
    clouds: plan.clouds.map((c) => ({
      name: c.name,
      libvirt: { uri: `qemu+ssh://${c.name}-hv1/system` },
      qmp: { socket: join(dir, c.name, '{vm}.qmp'), launch: `touch ${marker} {socket}` },
    })),
    ...extra,
  });
}

function execute(args: string[], cwd = ROOT) {
  // A hang is a failure too: the executor must refuse quickly.
  const r = spawnSync(process.execPath, [CLI, 'execute', ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const DRIVERS = ['dry-run', 'script', 'qmp', 'libvirt'];

describe('execute refuses a plan it cannot carry out, every reason at once, before anything starts', () => {
  it('unknown VMs and clouds, moves against the placement, an end state over capacity', () => {
    const dir = tempDir();
    const marker = join(dir, 'started');
    const [a, b, c] = plan.moves as [
      PlanDocument['moves'][number],
      PlanDocument['moves'][number],
      PlanDocument['moves'][number],
    ];
    const edited = {
      ...plan,
      moves: [{ ...a, to: 'atlantis' }, { ...b, vm: 'ghost' }, c, { ...c }, ...plan.moves.slice(3)],
      clouds: plan.clouds.map((cl) => ({ ...cl, capacity: { ...cl.capacity, vms: 2 } })),
    };
    const path = write(dir, 'edited.json', edited);
    for (const driver of DRIVERS) {
      const r = execute(['--plan', path, '--clouds', cloudsSpec(dir, marker), '--driver', driver]);
      assert.equal(r.status, 3, `${driver}: ${r.stderr}`);
      assert.match(r.stderr, /cannot be carried out, nothing was started/);
      assert.match(
        r.stderr,
        new RegExp(`move of ${a.vm} \\(${a.from} → atlantis\\): the plan has no cloud atlantis`),
      );
      assert.match(r.stderr, /move of ghost .*: ghost is not in the plan's placement/);
      assert.match(r.stderr, new RegExp(`${c.vm} moves more than once`));
      assert.match(r.stderr, /would hold \d+ vms, over its capacity of 2/);
      assert.equal(r.stdout, '', `${driver} printed no schedule`);
      assert.equal(existsSync(marker), false, `${driver} launched nothing`);
    }
  });

  it('a plan that does not match the inventory or breaks its constraints', () => {
    const dir = tempDir();
    const marker = join(dir, 'started');
    const [a, b] = plan.moves as [PlanDocument['moves'][number], PlanDocument['moves'][number]];
    const vms = Object.keys(plan.placement)
      .filter((vm) => vm !== 'web')
      .map((name) => {
        const move = plan.moves.find((m) => m.vm === name);
        const cloud = move?.from ?? (plan.placement[name] as string);
        if (name === a.vm) return { name, cloud: move?.to };
        if (name === b.vm) return { name, cloud, pinned: true };
        return { name, cloud };
      });
    const spec = cloudsSpec(dir, marker, { vms, constraints: { maxMoves: 2 } });
    const r = execute([
      '--plan',
      fixture('golden', 'cluster-plan.json'),
      '--clouds',
      spec,
      '--driver',
      'qmp',
    ]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`the inventory has ${a.vm} in ${a.to}, not ${a.from}`));
    assert.match(r.stderr, new RegExp(`${b.vm} is pinned`));
    assert.match(r.stderr, new RegExp(`${plan.moves.length} moves, over the limit of 2`));
    if (plan.moves.some((m) => m.vm === 'web')) assert.match(r.stderr, /the inventory has no VM web/);
    assert.equal(existsSync(marker), false);
  });
});

describe('execute checks residency and placement rules against the clouds spec', () => {
  it("allowed and denied clouds, affinity, anti-affinity, a move that goes nowhere, the spec's capacity", () => {
    const dir = tempDir();
    const marker = join(dir, 'started');
    type Move = PlanDocument['moves'][number];
    const [a, c, d, e] = plan.moves as [Move, Move, Move, Move];
    const moving = new Set(plan.moves.map((m) => m.vm));
    // A VM that stays, in another cloud than d ends in: tying them together breaks affinity.
    const stayer = Object.keys(plan.placement).find((vm) => !moving.has(vm) && plan.placement[vm] !== d.to);
    // Two VMs that end in one cloud: keeping them apart breaks anti-affinity.
    const together = Object.keys(plan.placement).filter((vm) => plan.placement[vm] === e.to && vm !== e.vm);
    assert.ok(stayer !== undefined && together.length > 0);
    const vms = Object.keys(plan.placement).map((name) => {
      const cloud = plan.moves.find((m) => m.vm === name)?.from ?? (plan.placement[name] as string);
      if (name === a.vm) return { name, cloud, allowedClouds: [a.from] };
      if (name === c.vm) return { name, cloud, deniedClouds: [c.to] };
      return { name, cloud };
    });
    const spec = JSON.parse(readFileSync(cloudsSpec(dir, marker), 'utf8')) as {
      clouds: { name: string; capacity?: object }[];
    };
    for (const cloud of spec.clouds) if (cloud.name === e.to) cloud.capacity = { vms: 1 };
    const specPath = write(dir, 'spec.json', {
      ...spec,
      vms,
      constraints: { affinity: [[d.vm, stayer]], antiAffinity: [[e.vm, together[0]]] },
    });
    const planPath = write(dir, 'plan.json', {
      ...plan,
      moves: [...plan.moves, { ...e, vm: e.vm, to: e.from }],
    });
    const r = execute(['--plan', planPath, '--clouds', specPath, '--driver', 'qmp']);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`${a.vm} may only run in ${a.from}`));
    assert.match(r.stderr, new RegExp(`${c.vm} may not run in ${c.to}`));
    assert.match(r.stderr, new RegExp(`affinity group \\[${d.vm}, ${stayer}\\] would end in`));
    assert.match(
      r.stderr,
      new RegExp(`anti-affinity group \\[${e.vm}, ${together[0]}\\] would share a cloud`),
    );
    assert.match(r.stderr, new RegExp(`move of ${e.vm} \\(${e.from} → ${e.from}\\): it goes nowhere`));
    assert.match(r.stderr, new RegExp(`after the moves ${e.to} would hold \\d+ vms, over its capacity of 1`));
    assert.equal(existsSync(marker), false);
  });
});

describe('names from files never reach a shell', () => {
  const HOSTILE = [
    'x;touch PWNED',
    '$(touch PWNED)',
    '`touch PWNED`',
    "x'y",
    'x"y',
    'x\ntouch PWNED',
    '../../etc/x',
    '-rf',
  ];

  it('a plan whose VM or cloud names carry shell syntax is refused at load, for every driver', () => {
    for (const name of HOSTILE) {
      const dir = tempDir();
      const marker = join(dir, 'started');
      const [first] = plan.moves as [PlanDocument['moves'][number]];
      const placement = { ...plan.placement, [name]: first.to };
      delete placement[first.vm];
      const asVm = write(dir, 'vm.json', {
        ...plan,
        placement,
        moves: [{ ...first, vm: name }, ...plan.moves.slice(1)],
      });
      const asCloud = write(dir, 'cloud.json', {
        ...plan,
        moves: [{ ...first, to: name }, ...plan.moves.slice(1)],
      });
      for (const path of [asVm, asCloud]) {
        for (const driver of DRIVERS) {
          // Run in the test's directory: a `touch PWNED` that got through would land there.
          const r = execute(['--plan', path, '--clouds', cloudsSpec(dir, marker), '--driver', driver], dir);
          assert.equal(r.status, 3, `${JSON.stringify(name)} ${driver}: ${r.stderr}`);
          assert.match(r.stderr, /not a valid name \(letters, digits/);
          assert.equal(existsSync(join(dir, 'PWNED')), false);
          assert.equal(existsSync(marker), false);
        }
      }
    }
  });

  it('an inventory with such a name points at its line', () => {
    const dir = tempDir();
    const path = join(dir, 'inventory.yaml');
    writeFileSync(path, 'clouds:\n  - name: a\nvms:\n  - name: "web; rm -rf /"\n    cloud: a\n');
    const r = spawnSync(
      process.execPath,
      [CLI, 'analyze', fixture('captures', 'tcpdump_geneve.pcap'), '-i', path],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 3);
    assert.match(r.stderr, /inventory\.yaml:4:\d+: vms\[0\]\.name: "web; rm -rf \/" is not a valid name/);
  });
});
