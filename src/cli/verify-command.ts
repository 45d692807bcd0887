import type { Command } from 'commander';
import { FLOW_TABLE_DEFAULTS } from '../../capture/flow-table.js';
import { analyzeCaptures } from '../analyze.js';
import { EXIT, UserError } from '../errors.js';
import { verifyPlan } from '../execute/verify.js';
import { graphDocument } from '../graph/graph-document.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { readPlan } from '../plan/read-plan.js';
import { formatBytes, textTable } from '../text-format.js';
import { parseCaptureArgs } from './capture-args.js';

interface VerifyFlags {
  plan: string;
  inventory?: string;
  tolerance: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .summary('compare the cross-cloud traffic a plan predicted with a new capture')
    .description(
      'The closed loop: analyzes new captures, places the VMs where the plan put them, and compares the\n' +
        'traffic between clouds with what the plan expected, per cloud pair. Exits 5 when a pair or the\n' +
        'total differs beyond --tolerance, or when VMs of the plan are missing from the capture.',
    )
    .argument('<capture...>', 'capture files, as for analyze')
    .requiredOption('-p, --plan <file>', 'plan JSON (sky-plan/plan@1)')
    .option('-i, --inventory <file>', 'inventory (YAML/JSON): MACs and IPs of the VMs')
    .option(
      '--tolerance <ratio>',
      'largest accepted |measured - predicted| / max(measured, predicted)',
      '0.25',
    )
    .option('--json', 'print the comparison as JSON')
    .action(async (captures: string[], flags: VerifyFlags) => {
      const tolerance = Number(flags.tolerance);
      if (!(tolerance >= 0 && tolerance <= 1))
        throw new UserError('bad_number', `--tolerance: "${flags.tolerance}" is not a ratio from 0 to 1`);
      const plan = await readPlan(flags.plan);
      const inventory = flags.inventory === undefined ? undefined : await loadInventory(flags.inventory);
      const analysis = await analyzeCaptures(parseCaptureArgs(captures, []), {
        inventory,
        flowTable: FLOW_TABLE_DEFAULTS,
      });
      const v = verifyPlan(plan, graphDocument(analysis), tolerance);
      if (!v.holds) process.exitCode = EXIT.mismatch;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(v, null, 1)}\n`);
        return;
      }
      const rate = (x: number) => `${formatBytes(x)}/s`;
      const ratio = (r: { predicted: number; measured: number }) =>
        r.predicted > 0 ? `${(r.measured / r.predicted).toFixed(2)}×` : '-';
      const lines = [
        `sky-plan verify: cross-cloud traffic between the plan's VMs, placed as the plan says`,
        textTable(
          ['from', 'to', 'predicted', 'measured', 'measured/predicted', ''],
          [
            ...v.rows.map((r) => [
              r.from,
              r.to,
              rate(r.predicted),
              rate(r.measured),
              ratio(r),
              r.differs ? 'differs' : '',
            ]),
            ['total', '', rate(v.predicted), rate(v.measured), ratio(v), ''],
          ],
        ),
      ];
      if (v.unseen.length > 0) lines.push(`not in the capture: ${v.unseen.join(', ')}`);
      lines.push(
        v.holds
          ? `the capture bears the plan out (within ${v.tolerance * 100}%)`
          : `the capture does not bear the plan out (tolerance ${v.tolerance * 100}%): exit ${EXIT.mismatch}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
