import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type DedupReport,
  type MigrationDriver,
  MigrationFailed,
  type MigrationProgress,
} from '../../src/execute/driver.js';
import { type ExecuteEvent, executePlan } from '../../src/execute/execute-plan.js';
import { Journal, type JournalEntry } from '../../src/execute/journal.js';
import type { Migration } from '../../src/execute/schedule.js';
import type { ExecutablePlan } from '../../src/plan/read-plan.js';
import { tempDir } from '../helpers.js';

/**
 * A driver that moves VMs in memory: where each runs, which migrations fail, and what a migration left
 * unfinished by a crash turned into (the answer `reconcile` gives). It specifies the executor's
 * orchestration (waves, failures, resume) without QEMU; the real drivers are tested on real QEMU.
 */
class FakeDriver implements MigrationDriver {
  readonly name = 'fake';
  readonly at = new Map<string, string>();
  readonly migrated: string[] = [];
  readonly reconciled: string[] = [];
  /** When set, each migration checks that the journal there holds its start before it begins. */
  journal: string | undefined;

  constructor(
    placement: Record<string, string>,
    private readonly failing: Set<string> = new Set(),
    private readonly afterCrash: Record<string, 'source' | 'destination'> = {},
  ) {
    for (const [vm, cloud] of Object.entries(placement)) this.at.set(vm, cloud);
  }

  async preflight(migrations: Migration[]): Promise<string[]> {
    return migrations.filter((m) => this.at.get(m.vm) !== m.from).map((m) => `${m.vm} is not in ${m.from}`);
  }

  async migrate(m: Migration, progress: (p: MigrationProgress) => void): Promise<DedupReport | undefined> {
    if (this.journal !== undefined) {
      const starts = readFileSync(this.journal, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"type":"start"'));
      assert.ok(
        starts.some((l) => (JSON.parse(l) as { vm: string }).vm === m.vm),
        `${m.vm}: its start is journaled before it begins`,
      );
    }
    await new Promise((resolve) => setImmediate(resolve)); // a migration takes time: timers run meanwhile
    assert.equal(this.at.get(m.vm), m.from, `${m.vm} migrates from where it runs`);
    progress({ transferred: 1, remaining: 0, total: 1, bytesPerSecond: 1, dirtyPagesPerSecond: 0 });
    if (this.failing.has(m.vm)) throw new MigrationFailed(`${m.vm}: the destination refused it`);
    this.migrated.push(m.vm);
    this.at.set(m.vm, m.to);
    return undefined;
  }

  async reconcile(m: Migration): Promise<'source' | 'destination'> {
    this.reconciled.push(m.vm);
    const outcome = this.afterCrash[m.vm] ?? 'source';
    this.at.set(m.vm, outcome === 'destination' ? m.to : m.from);
    return outcome;
  }
}

const VMS = ['v1', 'v2', 'v3', 'v4'];

/** Four VMs of a move to b, one migration at a time: each wave is one move, in a fixed order. */
function fourMoves(): ExecutablePlan {
  return {
    schema: 'sky-plan/plan@1',
    horizonSeconds: 3600,
    solver: { name: 'test', optimal: true, gap: 0 },
    placement: Object.fromEntries(VMS.map((vm) => [vm, 'b'])),
    moves: VMS.map((vm, i) => ({
      vm,
      from: 'a',
      to: 'b',
      fromHost: null,
      toHost: null,
      vcpus: 1,
      memoryGiB: 1,
      image: null,
      wanBytes: (i + 1) * 1e9,
      memoryBytes: (i + 1) * 1e9,
      diskBytes: 0,
      seconds: i + 1,
      cost: 0,
      bringsTogether: [],
      separates: [],
    })),
    clouds: ['a', 'b'].map((name) => ({
      name,
      capacity: { vcpus: null, memoryGiB: null, vms: null },
      wanBytesPerSecond: { [name === 'a' ? 'b' : 'a']: 1e9 },
    })),
    before: {
      cost: { egress: 0, internet: 0, compute: 0, migration: 0, total: 0 },
      crossCloud: [],
      load: [{ cloud: 'a', vcpus: 4, memoryGiB: 4, vms: 4 }],
    },
    after: { cost: { egress: 0, internet: 0, compute: 0, migration: 0, total: 0 }, crossCloud: [] },
  } as ExecutablePlan;
}

const ONE_AT_A_TIME = { perSource: 1, perDestination: 1, perLink: 1 };

async function run(
  driver: FakeDriver,
  o: { onFailure?: 'stop' | 'skip'; journal?: string; resumed?: JournalEntry[]; planId?: string } = {},
): Promise<{ ok: boolean; events: ExecuteEvent[]; journal: JournalEntry[] }> {
  const path = o.journal ?? join(tempDir(), 'plan.journal');
  const journal = new Journal(path);
  const events: ExecuteEvent[] = [];
  try {
    const ok = await executePlan(fourMoves(), {
      driver,
      journal,
      planId: o.planId ?? 'plan-1',
      limits: ONE_AT_A_TIME,
      onFailure: o.onFailure ?? 'stop',
      ...(o.resumed === undefined ? {} : { resumed: o.resumed }),
      events: (e) => events.push(e),
    });
    // A resumed run appends to its journal without a begin entry: read it line by line.
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    return { ok, events, journal: lines.map((l) => JSON.parse(l) as JournalEntry) };
  } finally {
    journal.close();
  }
}

const placedInA = () => Object.fromEntries(VMS.map((vm) => [vm, 'a']));

// A broken skip retries the failed VM forever: the timeout turns that hang into a failure.
describe('executePlan with a fake driver (orchestration only)', { timeout: 10_000 }, () => {
  it('moves every VM, one wave each, and journals begin, start/done per VM and end', async () => {
    const driver = new FakeDriver(placedInA());
    const { ok, events, journal } = await run(driver);
    assert.equal(ok, true);
    assert.deepEqual(driver.migrated, ['v1', 'v2', 'v3', 'v4']);
    assert.equal(events.filter((e) => e.type === 'wave').length, 4);
    assert.deepEqual(
      journal.map((e) => (e.type === 'start' || e.type === 'done' ? `${e.type} ${e.vm}` : e.type)),
      [
        'begin',
        'start v1',
        'done v1',
        'start v2',
        'done v2',
        'start v3',
        'done v3',
        'start v4',
        'done v4',
        'end',
      ],
    );
  });

  it('--on-failure stop: ends after the wave of the failure, the rest untouched, not ok', async () => {
    const driver = new FakeDriver(placedInA(), new Set(['v3']));
    const { ok, events } = await run(driver, { onFailure: 'stop' });
    assert.equal(ok, false);
    assert.deepEqual(driver.migrated, ['v1', 'v2']);
    assert.deepEqual(
      [...driver.at]
        .filter(([, c]) => c === 'a')
        .map(([vm]) => vm)
        .sort(),
      ['v3', 'v4'],
    );
    assert.deepEqual(events.at(-1), { type: 'end', ok: false, done: 2, failed: ['v3'] });
  });

  it('--on-failure skip: goes on without the failed VM, journals it skipped, and is not ok', async () => {
    const driver = new FakeDriver(placedInA(), new Set(['v3']));
    const { ok, events, journal } = await run(driver, { onFailure: 'skip' });
    assert.equal(ok, false);
    assert.deepEqual(driver.migrated, ['v1', 'v2', 'v4']);
    assert.equal(driver.at.get('v3'), 'a', 'the failed VM still runs at its source');
    assert.deepEqual(
      journal.filter((e) => e.type === 'skipped'),
      [
        {
          ...journal.find((e) => e.type === 'skipped'),
          type: 'skipped',
          vm: 'v3',
          reason: '--on-failure skip',
        },
      ],
    );
    assert.equal(
      events.filter((e) => e.type === 'start' && e.vm === 'v3').length,
      1,
      'a skipped VM is not tried again',
    );
    assert.deepEqual(events.at(-1), { type: 'end', ok: false, done: 3, failed: ['v3'] });
  });

  it('journals each start before its migration begins, and each outcome after it', async () => {
    const driver = new FakeDriver(placedInA(), new Set(['v3']));
    driver.journal = join(tempDir(), 'plan.journal');
    const { journal } = await run(driver, { journal: driver.journal, onFailure: 'skip' });
    for (const vm of VMS) {
      const start = journal.findIndex((e) => e.type === 'start' && e.vm === vm);
      const end = journal.findIndex((e) => (e.type === 'done' || e.type === 'failed') && e.vm === vm);
      assert.ok(start > 0 && end > start, `${vm}: start at ${start}, outcome at ${end}`);
    }
  });

  it('--resume: settles the migration a crash left open, never repeats a finished one, moves the rest', async () => {
    const dir = tempDir();
    const path = join(dir, 'plan.journal');
    // A run killed during v2's migration, after v1 had moved.
    const crashed = new Journal(path);
    crashed.write({ type: 'begin', plan: 'plan-1', migrations: 4 });
    crashed.write({ type: 'start', vm: 'v1', from: 'a', to: 'b' });
    crashed.write({ type: 'done', vm: 'v1', from: 'a', to: 'b', seconds: 1 });
    crashed.write({ type: 'start', vm: 'v2', from: 'a', to: 'b' });
    crashed.close();
    for (const [outcome, again] of [
      ['destination', ['v3', 'v4']],
      ['source', ['v2', 'v3', 'v4']],
    ] as const) {
      const copy = join(dir, `${outcome}.journal`);
      const lines = readFileSync(path, 'utf8');
      const placement = { ...placedInA(), v1: 'b', v2: outcome === 'destination' ? 'b' : 'a' };
      const driver = new FakeDriver(placement, new Set(), { v2: outcome });
      const resumed = lines
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JournalEntry);
      const { ok, events } = await run(driver, { journal: copy, resumed });
      assert.equal(ok, true, outcome);
      assert.deepEqual(driver.reconciled, ['v2'], `${outcome}: only the open migration is settled`);
      assert.deepEqual(driver.migrated, again, `${outcome}: what is migrated after the crash`);
      assert.deepEqual(
        events.find((e) => e.type === 'reconciled'),
        { type: 'reconciled', vm: 'v2', at: outcome === 'destination' ? 'b' : 'a' },
      );
    }
  });

  it("--resume refuses another plan's journal", async () => {
    const driver = new FakeDriver(placedInA());
    await assert.rejects(
      run(driver, { resumed: [{ type: 'begin', plan: 'another-plan', migrations: 4 }] }),
      /belongs to another plan/,
    );
    assert.deepEqual(driver.migrated, []);
  });
});
