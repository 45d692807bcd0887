import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { SOLVERS, type SolverName } from '../../planner/solve.js';
import { SOLVE_DEFAULTS } from '../../planner/solver.js';
import { UserError } from '../errors.js';
import { fillDiskInfo } from '../inventory/disk-info.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { mergeInventories } from '../inventory/merge-inventories.js';
import { PLAN_DEFAULTS } from '../plan/build-problem.js';
import { latestPhase } from '../plan/latest-phase.js';
import { planCluster } from '../plan/plan-cluster.js';
import { readGraph } from '../plan/read-graph.js';
import { readSketches } from '../plan/read-sketches.js';
import { renderPlan } from '../plan/render-plan.js';
import { parseDuration } from './duration.js';
import { checkOutputPath } from './output-path.js';
import { phaseProgress } from './progress-line.js';

const SOLVER_NAMES = ['auto', ...Object.keys(SOLVERS)];

interface PlanFlags {
  graph: string;
  clouds: string;
  inventory?: string;
  solver: string;
  seed: string;
  horizon?: string;
  downtimeCost?: string;
  timeLimit?: string;
  phase: string;
  json?: boolean;
  out?: string;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .summary('decide where each VM should run to cut cross-cloud traffic cost')
    .description(
      'Reads the graph from `sky-plan analyze` and a clouds spec (capacities, prices, WAN bandwidth,\n' +
        'constraints), and finds the placement with the lowest total cost over the horizon: egress between\n' +
        'clouds, compute, internet egress, and the one-time cost of moving.',
    )
    .requiredOption('-g, --graph <file>', 'graph JSON (sky-plan/graph@1) from sky-plan analyze --json')
    .requiredOption('-c, --clouds <file>', 'clouds spec (YAML/JSON); it may also hold the inventory')
    .option('-i, --inventory <file>', 'inventory (YAML/JSON), when it is not in the clouds spec')
    .option('-s, --solver <name>', `${SOLVER_NAMES.join('|')}`, 'auto')
    .option('--seed <n>', 'seed for the heuristics (same input and seed, same plan)', '1')
    .option(
      '--horizon <duration>',
      'how long the traffic pattern holds (weighs moves against savings)',
      '30d',
    )
    .option('--downtime-cost <dollars>', 'penalty per moved VM for its downtime', '0')
    .option(
      '--time-limit <duration>',
      'limit for the exact solver before it returns its best plan and gap',
      '10s',
    )
    .option('--phase <which>', 'whole|latest: plan on the whole capture, or on its latest phase', 'whole')
    .option('--json', 'print the plan JSON (sky-plan/plan@1) on stdout')
    .option('-o, --out <file>', 'write the plan JSON there (the summary still goes to stdout)')
    .action(async (flags: PlanFlags) => {
      await planAction(flags);
    });
}

async function planAction(flags: PlanFlags): Promise<void> {
  checkOutputPath('--out', flags.out);
  if (!SOLVER_NAMES.includes(flags.solver)) {
    throw new UserError('bad_solver', `--solver: "${flags.solver}" is not one of ${SOLVER_NAMES.join(', ')}`);
  }
  const seed = Number(flags.seed);
  // HiGHS takes its random_seed in [0, 2^31 - 1].
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1)
    throw new UserError('bad_seed', `--seed: "${flags.seed}" is not an integer from 0 to 2147483647`);
  const downtime = Number(flags.downtimeCost ?? 0);
  if (!(downtime >= 0))
    throw new UserError(
      'bad_downtime_cost',
      `--downtime-cost: "${flags.downtimeCost}" is not an amount of dollars`,
    );
  const horizonSeconds =
    flags.horizon === undefined ? PLAN_DEFAULTS.horizonSeconds : parseDuration(flags.horizon, '--horizon');
  const timeLimitSeconds =
    flags.timeLimit === undefined
      ? SOLVE_DEFAULTS.timeLimitSeconds
      : parseDuration(flags.timeLimit, '--time-limit');
  if (flags.phase !== 'whole' && flags.phase !== 'latest')
    throw new UserError('bad_phase', `--phase: "${flags.phase}" is not whole or latest`);
  const progress = phaseProgress(process.stderr, 'plan');
  const doc = await (async () => {
    progress.phase(`reading ${flags.graph}`);
    const read = await readGraph(flags.graph);
    const { graph, note } =
      flags.phase === 'latest'
        ? latestPhase(read)
        : { graph: read, note: 'planned on the whole capture (--phase whole)' };
    let spec = await loadInventory(flags.clouds);
    const sketches = await readSketches(spec, flags.clouds);
    if (flags.inventory !== undefined) {
      const inventory = await loadInventory(flags.inventory);
      for (const [vm, sketch] of await readSketches(inventory, flags.inventory)) sketches.set(vm, sketch);
      spec = mergeInventories(spec, inventory);
    }
    progress.phase('building the problem');
    return planCluster(graph, spec, {
      horizonSeconds,
      downtimePenalty: downtime,
      sketches,
      solver: flags.solver as SolverName,
      seed,
      timeLimitSeconds,
      notes: [note, ...(await fillDiskInfo(spec))],
      onProgress: progress.phase,
    });
  })().finally(progress.stop);
  const json = `${JSON.stringify(doc, null, 1)}\n`;
  if (flags.out !== undefined) await writeFile(flags.out, json);
  process.stdout.write(flags.json ? json : renderPlan(doc));
}
