import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { MigrationDriver } from '../execute/driver.js';
import { executePlan } from '../execute/execute-plan.js';
import { Journal, type JournalEntry, readJournal } from '../execute/journal.js';
import { CONCURRENCY_DEFAULTS } from '../execute/schedule.js';
import { type ExecutablePlan, readExecutablePlan } from '../plan/read-plan.js';
import type { RoundExecutor } from './run-autopilot.js';

/**
 * Carries out a round's plan through the executor, with the plan and its journal kept beside the state
 * file (`STATE.round-N.plan.json`, `.journal`): a round cut short is resumed from them.
 */
export function roundExecutor(
  stateFile: string,
  driver: MigrationDriver,
  log: (e: Record<string, unknown>) => void,
): RoundExecutor {
  const files = (round: number) => {
    const base = join(dirname(stateFile), `${basename(stateFile)}.round-${round}`);
    return { plan: `${base}.plan.json`, journal: `${base}.journal` };
  };
  const execute = async (plan: ExecutablePlan, round: number, moved: Moved, resumed?: JournalEntry[]) => {
    const f = files(round);
    const journal = new Journal(f.journal);
    try {
      await executePlan(plan, {
        driver,
        journal,
        planId: createHash('sha256').update(readFileSync(f.plan)).digest('hex'),
        limits: CONCURRENCY_DEFAULTS,
        onFailure: 'skip',
        ...(resumed === undefined ? {} : { resumed }),
        events: (e) => {
          if (e.type === 'done') moved({ vm: e.vm, from: e.from, to: e.to });
          // A migration QEMU finished while no executor watched: found at its destination on resume.
          const move = e.type === 'reconciled' ? plan.moves.find((m) => m.vm === e.vm) : undefined;
          if (move !== undefined && e.type === 'reconciled' && e.at === move.to)
            moved({ vm: move.vm, from: move.from, to: move.to });
          if (e.type === 'done' || e.type === 'failed' || e.type === 'start' || e.type === 'reconciled')
            log({ round, ...e });
        },
      });
    } finally {
      journal.close();
    }
  };
  return {
    run: async (plan, round, moved) => {
      const f = files(round);
      writeFileSync(f.plan, `${JSON.stringify(plan, null, 1)}\n`);
      rmSync(f.journal, { force: true });
      await execute(plan, round, moved);
    },
    resume: async (round, moved) => {
      const f = files(round);
      const resumed = existsSync(f.journal) ? readJournal(f.journal) : undefined;
      await execute(await readExecutablePlan(f.plan), round, moved, resumed);
    },
  };
}

type Moved = Parameters<RoundExecutor['run']>[2];
