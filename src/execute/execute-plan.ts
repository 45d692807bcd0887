import { UserError } from '../errors.js';
import type { ExecutablePlan } from '../plan/read-plan.js';
import {
  type DedupReport,
  type MigrationDriver,
  MigrationFailed,
  type MigrationProgress,
  type MigrationStep,
} from './driver.js';
import type { Journal, JournalEntry } from './journal.js';
import {
  type ConcurrencyLimits,
  DeadlockError,
  type Load,
  type Migration,
  type ScheduleInput,
  schedule,
  scheduleInput,
  type Wave,
} from './schedule.js';

export type ExecuteEvent =
  | { type: 'wave'; index: number; seconds: number; migrations: { vm: string; from: string; to: string }[] }
  | { type: 'start'; vm: string; from: string; to: string }
  | ({ type: 'progress'; vm: string } & MigrationProgress)
  | { type: 'step'; vm: string; step: MigrationStep }
  | { type: 'done'; vm: string; from: string; to: string; seconds: number; dedup?: DedupReport }
  | { type: 'failed'; vm: string; from: string; to: string; error: string }
  | { type: 'reconciled'; vm: string; at: string }
  | { type: 'warning'; vm: string; message: string }
  | { type: 'end'; ok: boolean; done: number; failed: string[] };

export interface ExecuteOptions {
  driver: MigrationDriver;
  journal: Journal;
  /** Identifies the plan (a hash of its file), so a journal is only resumed with its own plan. */
  planId: string;
  limits: ConcurrencyLimits;
  onFailure: 'stop' | 'skip';
  /** The journal of an interrupted run, to resume it. */
  resumed?: JournalEntry[];
  events: (e: ExecuteEvent) => void;
  /** Runs after each switchover (the overlay's forwarding); resolves to what went wrong, if anything. */
  afterMove?: (m: Migration) => Promise<string | undefined>;
}

/**
 * Carries out a plan wave by wave. The schedule is computed from where the VMs are, and again after a
 * wave where a migration failed (with --on-failure skip), so a failure or a resumed run continues from
 * the real state. Returns whether every VM reached its target.
 */
export async function executePlan(plan: ExecutablePlan, o: ExecuteOptions): Promise<boolean> {
  const base = scheduleInput(plan, o.limits);
  const target = new Map(plan.moves.map((m) => [m.vm, m.to]));
  const position = new Map(plan.moves.map((m) => [m.vm, m.from]));
  if (o.resumed === undefined)
    o.journal.write({ type: 'begin', plan: o.planId, migrations: plan.moves.length });
  else await replay(o.resumed, position, base, o);
  const skipped = new Set<string>();
  const failed: string[] = [];
  let done = 0;
  // Capacity first (a deadlock throws here), then what the driver can check: every VM where we think.
  let waves = pendingSchedule(base, position, target, skipped);
  const firstHops = waves.flatMap((w) => w.migrations).filter((m) => m.from === position.get(m.vm));
  const problems = await o.driver.preflight(firstHops);
  if (problems.length > 0)
    throw new UserError(
      'preflight',
      `pre-flight checks failed, nothing was moved:\n  ${problems.join('\n  ')}`,
    );
  // A wave where every migration succeeded leaves the VMs where the schedule expected them.
  for (let index = 0, next = 0; ; index++, next++) {
    const wave = waves[next];
    if (wave === undefined) break;
    o.events({
      type: 'wave',
      index,
      seconds: wave.seconds,
      migrations: wave.migrations.map(({ vm, from, to }) => ({ vm, from, to })),
    });
    // Every start of the wave on disk, with one fsync, before the first migration begins.
    o.journal.writeAll(wave.migrations.map((m) => ({ type: 'start', vm: m.vm, from: m.from, to: m.to })));
    const results = await Promise.all(wave.migrations.map((m) => runOne(m, o)));
    wave.migrations.forEach((m, i) => {
      if (results[i] === true) {
        position.set(m.vm, m.to);
        if (m.to === target.get(m.vm)) done++;
      } else failed.push(m.vm);
    });
    if (results.every(Boolean)) continue;
    if (o.onFailure === 'stop') break;
    for (const m of wave.migrations.filter((_, i) => results[i] !== true)) {
      skipped.add(m.vm);
      o.journal.record({ type: 'skipped', vm: m.vm, reason: '--on-failure skip' });
    }
    waves = pendingSchedule(base, position, target, skipped);
    next = -1;
  }
  const ok = [...target].every(([vm, cloud]) => position.get(vm) === cloud);
  o.journal.write({ type: 'end', ok });
  o.events({ type: 'end', ok, done, failed });
  return ok;
}

/** One migration whose start the journal holds. */
async function runOne(m: Migration, o: ExecuteOptions): Promise<boolean> {
  o.events({ type: 'start', vm: m.vm, from: m.from, to: m.to });
  const started = performance.now();
  let dedup: DedupReport | undefined;
  try {
    dedup = await o.driver.migrate(
      m,
      (p) => o.events({ type: 'progress', vm: m.vm, ...p }),
      (step) => {
        o.journal.write({ type: 'step', vm: m.vm, step });
        o.events({ type: 'step', vm: m.vm, step });
      },
    );
  } catch (err) {
    const error = err instanceof MigrationFailed ? err.message : `${m.vm}: ${(err as Error).message}`;
    o.journal.record({ type: 'failed', vm: m.vm, from: m.from, to: m.to, error });
    o.events({ type: 'failed', vm: m.vm, from: m.from, to: m.to, error });
    return false;
  }
  // The VM runs at its destination now, whatever the hook says: a failure is a warning, not a rollback.
  const warning = await o.afterMove?.(m);
  if (warning !== undefined) o.events({ type: 'warning', vm: m.vm, message: warning });
  const seconds = (performance.now() - started) / 1000;
  const done = { vm: m.vm, from: m.from, to: m.to, seconds, ...(dedup === undefined ? {} : { dedup }) };
  o.journal.record({ type: 'done', ...done });
  o.events({ type: 'done', ...done });
  return true;
}

/**
 * Brings `position` up to date from an interrupted run's journal; a migration that started and never
 * ended is settled with the driver (it may have completed without us), and the outcome journaled.
 */
async function replay(
  entries: JournalEntry[],
  position: Map<string, string>,
  base: ScheduleInput,
  o: ExecuteOptions,
): Promise<void> {
  const begin = entries[0];
  if (begin?.type !== 'begin' || begin.plan !== o.planId)
    throw new UserError('journal_mismatch', `the journal ${o.journal.path} belongs to another plan`);
  const open = new Map<string, { from: string; to: string }>();
  for (const e of entries) {
    if (e.type === 'start') open.set(e.vm, { from: e.from, to: e.to });
    if (e.type === 'done') position.set(e.vm, e.to);
    if (e.type === 'done' || e.type === 'failed') open.delete(e.vm);
  }
  for (const [vm, { from, to }] of open) {
    const sizes = base.migrations.find((m) => m.vm === vm) as Migration;
    const at = await o.driver.reconcile({ ...sizes, from, to });
    const cloud = at === 'destination' ? to : from;
    position.set(vm, cloud);
    o.journal.write(
      at === 'destination'
        ? { type: 'done', vm, from, to, seconds: 0 }
        : { type: 'failed', vm, from, to, error: 'interrupted; the VM runs at its source' },
    );
    o.events({ type: 'reconciled', vm, at: cloud });
  }
}

/** The schedule of what is left, from where the VMs are now. */
function pendingSchedule(
  base: ScheduleInput,
  position: Map<string, string>,
  target: Map<string, string>,
  skipped: Set<string>,
): Wave[] {
  const load = new Map([...base.load].map(([c, l]) => [c, { ...l }]));
  const shift = (cloud: string, m: Migration, sign: number) => {
    const l: Load = load.get(cloud) ?? { vcpus: 0, memoryGiB: 0, vms: 0 };
    l.vcpus += sign * m.vcpus;
    l.memoryGiB += sign * m.memoryGiB;
    l.vms += sign;
    load.set(cloud, l);
  };
  const migrations: Migration[] = [];
  for (const m of base.migrations) {
    const at = position.get(m.vm) as string;
    if (at !== m.from) {
      shift(m.from, m, -1);
      shift(at, m, 1);
    }
    const to = target.get(m.vm) as string;
    if (at === to || skipped.has(m.vm)) continue;
    const rate = base.wan.get(at)?.[to];
    migrations.push({ ...m, from: at, to, seconds: rate === undefined ? m.seconds : m.wanBytes / rate });
  }
  try {
    return schedule({ ...base, migrations, load });
  } catch (err) {
    if (err instanceof DeadlockError) throw new UserError('deadlock', err.message);
    throw err;
  }
}
