import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import type { Inventory } from '../inventory/schema.js';
import type { PlanDocument } from '../plan/plan-document.js';
import type { PlannerGraph } from '../plan/read-graph.js';
import {
  type AutopilotState,
  appendMove,
  applyHistory,
  cloudAt,
  moveKey,
  pruneHistory,
  readState,
  writeState,
} from './autopilot-state.js';
import { checkPrediction, type Prediction } from './check-prediction.js';
import { type AutopilotEvent, applyEvents } from './events.js';
import { type Decision, decide, type MoveRecord, type PolicyOptions } from './policy.js';
import { type WindowStat, windowGraph } from './traffic-window.js';

export interface AutopilotOptions {
  /** The live graph (collect's), read again each round. */
  graph: () => Promise<PlannerGraph>;
  /** The clouds spec, read again each round (prices and capacities change). */
  spec: () => Promise<Inventory>;
  events: () => Promise<AutopilotEvent[]>;
  stateFile: string;
  /** The decision log: one JSON object per round. */
  log: (entry: Record<string, unknown>) => void;
  window: { seconds: number; stat: WindowStat; baselineSeconds: number };
  policy: PolicyOptions;
  /** Seconds between rounds; an event due since the last round starts one at once. */
  period: number;
  /** Seconds since the epoch. */
  clock: () => number;
  /** One round, then return. */
  once: boolean;
  /** Carries out plans (undefined: a dry run). */
  execute?: RoundExecutor | undefined;
  signal: AbortSignal;
  /** Each round's decision, for the status endpoint and the metrics. */
  onDecision?: (d: Decision, seconds: number) => void;
}

/** `moved` is called for each VM once it runs at its destination. */
export interface RoundExecutor {
  run(plan: PlanDocument, round: number, moved: (m: Omit<MoveRecord, 'at' | 'round'>) => void): Promise<void>;
  /** Finishes a round an earlier run was carrying out when it stopped, from its journal. */
  resume(round: number, moved: (m: Omit<MoveRecord, 'at' | 'round'>) => void): Promise<void>;
}

/** How often the events are looked at between rounds: an event waits up to this long to be seen. */
export const TICK_SECONDS = 1;

/**
 * The loop: a round at start, then every period and whenever an event falls due; each round decides
 * (policy.ts) on the live graph, the spec and the events, logs why, and carries out the plan unless it
 * is a dry run. The state file records each finished move as it finishes, so a restarted autopilot
 * knows where every VM runs and repeats none.
 */
export async function runAutopilot(o: AutopilotOptions): Promise<void> {
  let state = readState(o.stateFile);
  if (state.pending !== null && o.execute !== undefined) {
    const round = state.pending;
    o.log({
      time: o.clock(),
      round,
      action: 'resume',
      reason: `round ${round} was cut short: resumed from its journal`,
    });
    state = await carryOut(o, state, round, (moved) => (o.execute as RoundExecutor).resume(round, moved));
  }
  // A round at start, restarts included: whatever changed while autopilot was down is weighed at once.
  for (let first = true; ; first = false) {
    const now = o.clock();
    const events = await o.events();
    const due = events.filter((e) => e.time <= now && (state.lastRound === null || e.time > state.lastRound));
    const trigger =
      first || state.lastRound === null
        ? 'start'
        : due.length > 0
          ? `event:${[...new Set(due.map((e) => e.type))].join(',')}`
          : now - state.lastRound >= o.period
            ? 'period'
            : null;
    if (trigger !== null) {
      try {
        state = await oneRound(o, state, events, now, trigger);
      } catch (err) {
        // The first round fails loudly (a wrong path, a bad spec); later, a collector or a spec being
        // rewritten is a round skipped, tried again next period.
        if (o.once || first || !(err instanceof UserError)) throw err;
        o.log({ time: now, round: state.round, trigger, action: 'skipped', reason: err.message });
        state = { ...state, lastRound: now, round: state.round + 1 };
      }
      writeState(o.stateFile, state);
    }
    if (o.once || o.signal.aborted) return;
    await sleep(TICK_SECONDS * 1000, undefined, { signal: o.signal }).catch(() => undefined);
    if (o.signal.aborted) return;
  }
}

async function oneRound(
  o: AutopilotOptions,
  state: AutopilotState,
  events: AutopilotEvent[],
  now: number,
  trigger: string,
): Promise<AutopilotState> {
  const round = state.round;
  const started = performance.now();
  const [graph, read] = await Promise.all([o.graph(), o.spec()]);
  const given = withGraphVms(read, graph);
  const here = applyHistory(given, state.history);
  const { spec, notices } = applyEvents(here, events, now, (vm, time) =>
    cloudAt(given, state.history, vm, time),
  );
  const recent = windowGraph(graph, now, o.window.seconds, o.window.stat);
  const baseline = windowGraph(graph, now, o.window.baselineSeconds, 'mean');
  const d = await decide(
    { recent: recent.graph, baseline: baseline.graph, spec, notices, history: state.history, now, trigger },
    o.policy,
  );
  const seconds = (performance.now() - started) / 1000;
  o.onDecision?.(d, seconds);
  // The last moves' prediction, once the whole window is after them: what the capture says of it.
  const measured = state.prediction !== null && now - o.window.seconds >= state.prediction.at;
  const verification = measured
    ? checkPrediction(state.prediction as Prediction, d.crossCloudNow)
    : undefined;
  const { plan, time, trigger: _t, action, reason, moves, ...figures } = d;
  o.log({
    time,
    round,
    trigger,
    action,
    reason,
    moves,
    dryRun: o.execute === undefined,
    decisionSeconds: seconds,
    ...figures,
    ...(verification === undefined ? {} : { verification }),
    ...(recent.windowed ? {} : { note: 'the graph has no windows: planned on its mean rates' }),
  });
  const decided = { ...state, lastRound: now, round: round + 1, ...(measured ? { prediction: null } : {}) };
  if (plan === undefined || o.execute === undefined) return decided;
  const executor = o.execute;
  const done = await carryOut(o, decided, round, (moved) => executor.run(plan, round, moved));
  const prediction = { round, at: o.clock(), pairs: plan.after.crossCloud };
  writeState(o.stateFile, { ...done, prediction });
  return { ...done, prediction };
}

/**
 * Runs a round's moves with the state file saying so: `pending` while they run, each finished move
 * appended to its log at once (a crash after it must not repeat it), folded into the state at the end.
 */
async function carryOut(
  o: AutopilotOptions,
  state: AutopilotState,
  round: number,
  run: (moved: (m: Omit<MoveRecord, 'at' | 'round'>) => void) => Promise<void>,
): Promise<AutopilotState> {
  const history = [...state.history];
  const known = new Set(history.map(moveKey));
  writeState(o.stateFile, { ...state, history, pending: round });
  await run((m) => {
    const record = { ...m, at: o.clock(), round };
    if (known.has(moveKey(record))) return; // replayed from the journal
    known.add(moveKey(record));
    history.push(record);
    appendMove(o.stateFile, record);
  });
  const current = {
    ...state,
    history: pruneHistory(history, o.clock() - o.policy.dampingSeconds),
    pending: null,
  };
  writeState(o.stateFile, current);
  return current;
}

/**
 * The spec with an entry for each VM only the graph places (a clouds spec without a vms list): moves,
 * pins and notices then apply to every VM alike. Their sizes still come from the graph.
 */
function withGraphVms(spec: Inventory, graph: PlannerGraph): Inventory {
  const known = new Set(spec.vms.map((vm) => vm.name));
  const clouds = new Set(spec.clouds.map((c) => c.name));
  const extra = graph.nodes
    .filter((n) => (n.kind === undefined || n.kind === 'vm') && clouds.has(n.cloud ?? '') && !known.has(n.id))
    .map((n) => ({ name: n.id, cloud: n.cloud as string, disks: [], nics: [] }));
  return extra.length === 0 ? spec : { ...spec, vms: [...spec.vms, ...extra] };
}
