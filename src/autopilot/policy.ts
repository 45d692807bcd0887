import type { CostBreakdown } from '../../planner/objective.js';
import { evaluate } from '../../planner/objective.js';
import { PlacementState } from '../../planner/placement-state.js';
import type { SolverName } from '../../planner/solve.js';
import { UserError } from '../errors.js';
import type { Inventory } from '../inventory/schema.js';
import { buildProblem } from '../plan/build-problem.js';
import { planCluster } from '../plan/plan-cluster.js';
import type { PlanDocument } from '../plan/plan-document.js';
import type { PlannerGraph } from '../plan/read-graph.js';
import { formatMoney } from '../text-format.js';
import type { Notice } from './events.js';

export interface PolicyOptions {
  /** How long a placement is expected to stay right: savings are counted over it. */
  horizonSeconds: number;
  /** Hysteresis: a plan's saving over the horizon must exceed its migration cost by this share. */
  margin: number;
  /** …and by at least this many dollars. */
  minSavingDollars: number;
  /** Damping: a VM moved this many times within `dampingSeconds` stays where it is. */
  maxMovesPerVm: number;
  dampingSeconds: number;
  downtimePenalty: number;
  solver: SolverName;
  seed: number;
  timeLimitSeconds: number;
}

export const POLICY_DEFAULTS: PolicyOptions = {
  horizonSeconds: 7 * 86400,
  margin: 0.25,
  minSavingDollars: 1,
  maxMovesPerVm: 1,
  dampingSeconds: 86400,
  downtimePenalty: 0,
  solver: 'auto',
  seed: 1,
  timeLimitSeconds: 10,
};

/** A move carried out (or, in a dry run, decided), for damping and for a restarted autopilot. */
export interface MoveRecord {
  vm: string;
  from: string;
  to: string;
  at: number;
  /** The autopilot round that made it. */
  round?: number | undefined;
}

export interface DecideInput {
  /** The traffic to plan for: the sliding window's statistic per edge (see windowGraph). */
  recent: PlannerGraph;
  /** A longer window's traffic: a plan must still pay there, or it would not survive the pattern flipping back. */
  baseline: PlannerGraph;
  /** The clouds spec with the events applied and every VM where it runs now. */
  spec: Inventory;
  notices: Notice[];
  history: MoveRecord[];
  now: number;
  trigger: string;
}

export interface Decision {
  time: number;
  trigger: string;
  action: 'hold' | 'move' | 'evacuate';
  reason: string;
  moves: { vm: string; from: string; to: string; seconds: number }[];
  /** Dollars over the horizon: the running cost (egress, internet, compute) now and after the plan. */
  costNow: number;
  costAfter: number;
  saving: number;
  /** The same plan's saving on the longer window's traffic. */
  baselineSaving: number;
  migrationCost: number;
  /** Bytes the plan's migrations put on the WAN. */
  migrationBytes: number;
  /** Cross-cloud traffic of the window per cloud pair, where the VMs run now and after the plan. */
  crossCloudNow: { from: string; to: string; bytesPerSecond: number }[];
  crossCloudAfter: { from: string; to: string; bytesPerSecond: number }[];
  /** VMs kept where they are by damping. */
  damped: string[];
  /** VMs with a termination notice that cannot leave in time, and why. */
  unable: { vm: string; reason: string }[];
  /** The plan to carry out, when the action is not hold. */
  plan?: PlanDocument;
}

const running = (c: CostBreakdown) => c.egress + c.internet + c.compute;

/** Re-plans at most this many times to leave out moves the longer window does not pay for. */
const FLEETING_PASSES = 3;

/**
 * One round of the autopilot: a termination notice makes an emergency plan (only the noticed VMs move,
 * each away from its cloud); otherwise the re-plan is carried out only when its saving pays for its
 * migrations with the margin, also on the longer window's traffic, with damped VMs kept still. VMs a
 * drain forbids where they are move whatever the saving.
 */
export async function decide(input: DecideInput, o: PolicyOptions): Promise<Decision> {
  const cloudOf = new Map(input.spec.vms.map((vm) => [vm.name, vm.cloud]));
  const active = input.notices.filter((n) => n.deadline > input.now && cloudOf.get(n.vm) === n.cloud);
  if (active.length > 0) return evacuate(input, active, o);

  const since = input.now - o.dampingSeconds;
  const moved = new Map<string, number>();
  for (const m of input.history) if (m.at > since) moved.set(m.vm, (moved.get(m.vm) ?? 0) + 1);
  const forced = new Set(
    input.spec.vms.filter((vm) => vm.cloud !== undefined && !allowedAt(vm, vm.cloud)).map((vm) => vm.name),
  );
  const damped = [...moved].filter(([vm, n]) => n >= o.maxMovesPerVm && !forced.has(vm)).map(([vm]) => vm);
  let spec = pinned(input.spec, (vm) => damped.includes(vm));
  // Planning over a horizon shortened by the margin weighs each migration as (1 + margin) times its cost:
  // the solver itself leaves out the moves that do not pay with the margin.
  const withMargin = { ...planOptions(o), horizonSeconds: o.horizonSeconds / (1 + o.margin) };
  let plan = await planCluster(input.recent, spec, withMargin);
  const base = { time: input.now, trigger: input.trigger, damped, unable: [] };
  // Damping per move: a move the longer window's traffic does not pay for stays out, the rest re-planned
  // (a few times at most; the whole plan's check below still holds what is left).
  const fleeting: string[] = [];
  for (let pass = 0; pass < FLEETING_PASSES; pass++) {
    const more = fleetingMoves(plan, input.baseline, spec, o).filter((vm) => !forced.has(vm));
    if (more.length === 0) break;
    fleeting.push(...more);
    spec = pinned(spec, (vm) => more.includes(vm));
    plan = await planCluster(input.recent, spec, withMargin);
  }
  const figures = measure(plan, input.baseline, spec, o);
  const kept =
    fleeting.length === 0
      ? ''
      : ` (held, as the longer window does not pay for them: ${fleeting.join(', ')})`;
  if (plan.moves.length === 0)
    return {
      ...base,
      ...figures,
      action: 'hold',
      reason: `no placement pays for its migrations${kept}`,
      moves: [],
    };
  const pays = figures.saving >= (1 + o.margin) * figures.migrationCost + o.minSavingDollars;
  const lasts = figures.baselineSaving > figures.migrationCost;
  if (pays && lasts)
    return {
      ...base,
      ...figures,
      action: 'move',
      reason: reasonToMove(figures, o) + kept,
      moves: movesOf(plan),
      plan,
    };
  const why = !pays
    ? `saving ${formatMoney(figures.saving)} does not exceed migrations ${formatMoney(figures.migrationCost)} by ${o.margin * 100}% + ${formatMoney(o.minSavingDollars)}`
    : `the saving vanishes on the longer window's traffic (${formatMoney(figures.baselineSaving)} against migrations ${formatMoney(figures.migrationCost)}): the pattern may flip back`;
  if (forced.size === 0) return { ...base, ...figures, action: 'hold', reason: why, moves: [] };
  // Only what a drain forces: every other VM stays.
  const drained = await planCluster(
    input.recent,
    pinned(input.spec, (vm) => !forced.has(vm)),
    planOptions(o),
  );
  return {
    ...base,
    ...measure(drained, input.baseline, spec, o),
    action: 'move',
    reason: `drained: ${[...forced].join(', ')} must leave their cloud (${why})`,
    moves: movesOf(drained),
    plan: drained,
  };
}

function reasonToMove(f: ReturnType<typeof measure>, o: PolicyOptions): string {
  return `saving ${formatMoney(f.saving)} over ${(o.horizonSeconds / 86400).toFixed(1)} days exceeds migrations ${formatMoney(f.migrationCost)} by more than ${o.margin * 100}% + ${formatMoney(o.minSavingDollars)}, also on the longer window (${formatMoney(f.baselineSaving)})`;
}

/** The emergency plan: noticed VMs leave their cloud, nothing else moves. */
async function evacuate(input: DecideInput, notices: Notice[], o: PolicyOptions): Promise<Decision> {
  const noticed = new Set(notices.map((n) => n.vm));
  const unable: Decision['unable'] = [];
  let leaving = [...noticed];
  let plan: PlanDocument | undefined;
  // A VM that has nowhere to go must not keep the others from going: drop such VMs one at a time.
  while (leaving.length > 0) {
    try {
      plan = await planCluster(input.recent, evacuationSpec(input.spec, notices, leaving), planOptions(o));
      break;
    } catch (err) {
      if (!(err instanceof UserError) || err.code !== 'plan_infeasible') throw err;
      const alone = await Promise.all(
        leaving.map((vm) =>
          planCluster(input.recent, evacuationSpec(input.spec, notices, [vm]), planOptions(o)).then(
            () => true,
            () => false,
          ),
        ),
      );
      const stuck = leaving.filter((_, i) => !alone[i]);
      const drop = stuck.length > 0 ? stuck : leaving.slice(-1);
      for (const vm of drop)
        unable.push({ vm, reason: 'no other cloud has room for it within its constraints' });
      leaving = leaving.filter((vm) => !drop.includes(vm));
    }
  }
  const moves = plan === undefined ? [] : movesOf(plan);
  for (const m of moves) {
    const n = notices.find((x) => x.vm === m.vm) as Notice;
    const left = n.deadline - input.now;
    // Started anyway: the estimate is at the link's full rate without dedup, the migration may be quicker.
    if (m.seconds > left)
      unable.push({
        vm: m.vm,
        reason: `its migration takes about ${m.seconds.toFixed(0)} s and ${left.toFixed(0)} s are left`,
      });
  }
  const figures = plan === undefined ? noFigures : measure(plan, input.baseline, input.spec, o);
  return {
    time: input.now,
    trigger: input.trigger,
    action: plan === undefined ? 'hold' : 'evacuate',
    reason: `termination notice: ${notices.map((n) => `${n.vm} must leave ${n.cloud} within ${(n.deadline - input.now).toFixed(0)} s`).join('; ')}`,
    moves,
    ...figures,
    damped: [],
    unable,
    ...(plan === undefined ? {} : { plan }),
  };
}

const noFigures = {
  costNow: 0,
  costAfter: 0,
  saving: 0,
  baselineSaving: 0,
  migrationCost: 0,
  migrationBytes: 0,
  crossCloudNow: [],
  crossCloudAfter: [],
};

/** Every VM pinned but those leaving, each of them denied the cloud it must leave (and unpinned: it must go). */
function evacuationSpec(spec: Inventory, notices: Notice[], leaving: string[]): Inventory {
  const rest = pinned(spec, (vm) => !leaving.includes(vm));
  return {
    ...rest,
    vms: rest.vms.map((vm) => {
      const n = notices.find((x) => x.vm === vm.name);
      return n === undefined || !leaving.includes(vm.name)
        ? vm
        : { ...vm, pinned: false, deniedClouds: [...(vm.deniedClouds ?? []), n.cloud] };
    }),
  };
}

function planOptions(o: PolicyOptions) {
  return {
    solver: o.solver,
    seed: o.seed,
    timeLimitSeconds: o.timeLimitSeconds,
    horizonSeconds: o.horizonSeconds,
    downtimePenalty: o.downtimePenalty,
  };
}

/** The spec with the VMs `pin` selects kept where they are. */
function pinned(spec: Inventory, pin: (vm: string) => boolean): Inventory {
  return {
    ...spec,
    vms: spec.vms.map((vm) => (pin(vm.name) && vm.cloud !== undefined ? { ...vm, pinned: true } : vm)),
  };
}

function allowedAt(vm: Inventory['vms'][number], cloud: string): boolean {
  if (vm.deniedClouds?.includes(cloud)) return false;
  return vm.allowedClouds === undefined || vm.allowedClouds.includes(cloud);
}

function movesOf(plan: PlanDocument): Decision['moves'] {
  return plan.moves.map((m) => ({ vm: m.vm, from: m.from, to: m.to, seconds: m.seconds }));
}

/**
 * The VMs of a plan whose own move the baseline traffic does not pay for: taking it back (with the rest
 * of the plan kept) would cost less over the horizon than it saves. A move that cannot be taken back
 * alone (its old cloud filled meanwhile) is not judged.
 */
function fleetingMoves(
  plan: PlanDocument,
  baseline: PlannerGraph,
  spec: Inventory,
  o: PolicyOptions,
): string[] {
  if (plan.moves.length === 0) return [];
  const { problem } = buildProblem(baseline, spec, {
    horizonSeconds: o.horizonSeconds,
    downtimePenalty: o.downtimePenalty,
  });
  const index = new Map(problem.clouds.map((c, i) => [c.name, i]));
  const vmIndex = new Map(problem.vms.map((vm, v) => [vm.name, v]));
  const after = problem.vms.map((vm) => index.get(plan.placement[vm.name] ?? '') ?? Math.max(0, vm.current));
  const state = new PlacementState(problem, after);
  const fleeting = new Set<string>();
  for (const m of plan.moves) {
    const v = vmIndex.get(m.vm);
    const home = index.get(m.from);
    if (v === undefined || home === undefined || fleeting.has(m.vm)) continue;
    const u = state.units.unitOf[v] as number;
    // Negative: back home is cheaper on the baseline, migration included.
    if (state.delta(u, home, false) < 0)
      for (const w of state.units.members[u] as number[]) fleeting.add(problem.vms[w]?.name as string);
  }
  return [...fleeting];
}

/**
 * A plan's figures over the real horizon: its running cost before and after, its migrations, and the
 * same placement's saving on the baseline traffic.
 */
function measure(plan: PlanDocument, baseline: PlannerGraph, spec: Inventory, o: PolicyOptions) {
  const { problem } = buildProblem(baseline, spec, {
    horizonSeconds: o.horizonSeconds,
    downtimePenalty: o.downtimePenalty,
  });
  const index = new Map(problem.clouds.map((c, i) => [c.name, i]));
  const after = problem.vms.map((vm) => index.get(plan.placement[vm.name] ?? '') ?? Math.max(0, vm.current));
  // A VM not placed yet is counted where the plan puts it, on both sides.
  const now = problem.vms.map((vm, v) => (vm.current >= 0 ? vm.current : (after[v] as number)));
  const scale = plan.horizonSeconds > 0 ? o.horizonSeconds / plan.horizonSeconds : 1;
  const costNow = running(plan.before.cost) * scale;
  const costAfter = running(plan.after.cost) * scale;
  return {
    costNow,
    costAfter,
    saving: costNow - costAfter,
    baselineSaving: running(evaluate(problem, now).cost) - running(evaluate(problem, after).cost),
    migrationCost: plan.after.cost.migration,
    migrationBytes: plan.after.migrationBytes,
    crossCloudNow: plan.before.crossCloud,
    crossCloudAfter: plan.after.crossCloud,
  };
}
