import { appendFileSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as v from 'valibot';
import { UserError } from '../errors.js';
import type { Inventory } from '../inventory/schema.js';
import { readTextSync } from '../read-text.js';
import { firstIssue } from '../schema-issue.js';
import type { Prediction } from './check-prediction.js';
import type { MoveRecord } from './policy.js';

/**
 * What autopilot keeps across restarts: the moves it carried out (so a restarted autopilot knows where
 * each VM runs now and repeats none of them, and damping counts them) and when it last decided.
 */
export interface AutopilotState {
  history: MoveRecord[];
  /** When the last round decided (seconds since the epoch). */
  lastRound: number | null;
  /** The next round's number. */
  round: number;
  /** A round whose plan was being carried out: a restart resumes it from its journal first. */
  pending: number | null;
  /** The last round of moves' prediction, until a window after them has measured it. */
  prediction: Prediction | null;
}

export const NEW_STATE: AutopilotState = {
  history: [],
  lastRound: null,
  round: 0,
  pending: null,
  prediction: null,
};

const stateSchema = v.strictObject({
  history: v.array(
    v.strictObject({
      vm: v.string(),
      from: v.string(),
      to: v.string(),
      at: v.number(),
      round: v.optional(v.number()),
    }),
  ),
  lastRound: v.nullable(v.number()),
  round: v.pipe(v.number(), v.integer(), v.minValue(0)),
  pending: v.nullable(v.number()),
  prediction: v.optional(
    v.nullable(
      v.strictObject({
        round: v.number(),
        at: v.number(),
        pairs: v.array(v.strictObject({ from: v.string(), to: v.string(), bytesPerSecond: v.number() })),
      }),
    ),
    null,
  ),
});

const moveSchema = stateSchema.entries.history.item;

/** The state file, with the moves its log holds that a crash kept out of it. */
export function readState(file: string): AutopilotState {
  const state = existsSync(file) ? parseState(file) : NEW_STATE;
  const log = movesLog(file);
  if (!existsSync(log)) return state;
  const lines = readTextSync(log, 'journal_unreadable', 'the autopilot moves log').split('\n');
  const known = new Set(state.history.map(moveKey));
  const history = [...state.history];
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      // A crash mid-append leaves a torn last line: the move it was recording is then not recorded.
      if (i >= lines.length - 2) break;
      throw new UserError('journal_invalid', `${log}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const r = v.safeParse(moveSchema, record);
    if (!r.success) throw new UserError('journal_invalid', `${log}:${i + 1}: ${firstIssue(r.issues)}`);
    if (known.has(moveKey(r.output))) continue;
    known.add(moveKey(r.output));
    history.push(r.output);
  }
  return { ...state, history };
}

function parseState(file: string): AutopilotState {
  let json: unknown;
  try {
    json = JSON.parse(readTextSync(file, 'journal_unreadable', 'the autopilot state'));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('journal_invalid', `${file}: not JSON (${(err as Error).message})`);
  }
  const r = v.safeParse(stateSchema, json);
  if (!r.success) throw new UserError('journal_invalid', `${file}: ${firstIssue(r.issues)}`);
  return r.output;
}

/**
 * Written whole and renamed into place: a crash leaves the old state or the new one. The moves log is
 * then folded in, so it is removed.
 */
export function writeState(file: string, state: AutopilotState): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
  rmSync(movesLog(file), { force: true });
}

/**
 * A finished move, appended to the state's moves log: a round of many moves costs a line per move, not
 * the whole history rewritten per move.
 */
export function appendMove(file: string, move: MoveRecord): void {
  appendFileSync(movesLog(file), `${JSON.stringify(move)}\n`);
}

export const movesLog = (stateFile: string) => `${stateFile}.moves`;

/** A move is one VM's in one round (older states have no round: each such record is its own). */
export const moveKey = (m: MoveRecord) => `${m.round ?? `at ${m.at}`}\u0000${m.vm}`;

/** The spec with every VM where the moves left it. */
export function applyHistory(spec: Inventory, history: MoveRecord[]): Inventory {
  const at = new Map<string, string>();
  for (const m of history) at.set(m.vm, m.to);
  return {
    ...spec,
    vms: spec.vms.map((vm) => (at.has(vm.name) ? { ...vm, cloud: at.get(vm.name) as string } : vm)),
  };
}

/**
 * Where a VM ran at `time`: where its last move up to then took it; before its first move still held,
 * where that move took it from (exact back to the moves pruned away); its cloud in the spec if it never
 * moved.
 */
export function cloudAt(
  spec: Inventory,
  history: MoveRecord[],
  vm: string,
  time: number,
): string | undefined {
  let cloud: string | undefined;
  for (const m of history) {
    if (m.vm !== vm) continue;
    if (m.at <= time) cloud = m.to;
    else cloud ??= m.from;
  }
  return cloud ?? spec.vms.find((x) => x.name === vm)?.cloud;
}

/**
 * The history without the moves made before `before`, except each VM's last one (where it runs now):
 * what damping, a notice's placement and a restart need, so a long-running autopilot's state is bounded
 * by its VMs and the moves of one damping period.
 */
export function pruneHistory(history: MoveRecord[], before: number): MoveRecord[] {
  const last = new Map<string, MoveRecord>();
  for (const m of history) last.set(m.vm, m);
  return history.filter((m) => m.at >= before || last.get(m.vm) === m);
}
