import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXIT, UserError } from '../errors.js';
import { DedupRoutes } from '../execute/drivers/dedup-tunnel.js';
import { libvirtScript } from '../execute/drivers/libvirt-script.js';
import { executePlan } from '../execute/execute-plan.js';
import { Journal, readJournal } from '../execute/journal.js';
import { overlayHooks } from '../execute/overlay-hooks.js';
import { jsonEvents, terminalProgress } from '../execute/progress.js';
import { renderSchedule } from '../execute/render-schedule.js';
import { migrationScript } from '../execute/render-script.js';
import {
  CONCURRENCY_DEFAULTS,
  type ConcurrencyLimits,
  DeadlockError,
  schedule,
  scheduleInput,
} from '../execute/schedule.js';
import { planProblems } from '../execute/validate-plan.js';
import { fillDiskInfo } from '../inventory/disk-info.js';
import { loadInventory } from '../inventory/load-inventory.js';
import type { Cloud } from '../inventory/schema.js';
import { readExecutablePlan } from '../plan/read-plan.js';
import { dedupCache, migrationDriver, saveRoutes } from './migration-driver.js';
import { checkOutputPath } from './output-path.js';

const DRIVERS = ['dry-run', 'script', 'libvirt', 'qmp'] as const;

interface ExecuteFlags {
  plan: string;
  clouds?: string;
  driver: string;
  script?: string;
  journal?: string;
  resume?: string;
  onFailure: string;
  maxPerSource: string;
  maxPerDest: string;
  maxPerLink: string;
  json?: boolean;
  dedup?: boolean;
  dedupCache?: string | false;
}

export function registerExecute(program: Command): void {
  program
    .command('execute')
    .summary('carry out a plan as waves of live migrations')
    .description(
      'Orders the moves of a plan into waves that never overfill a cloud (swaps go through a cloud with\n' +
        'room), then prints them (dry-run), writes a virsh script (script), or runs them through libvirt or\n' +
        "QEMU's QMP. Every step is journaled before and after it happens: --resume continues a run that\n" +
        'was interrupted, without repeating finished moves.',
    )
    .requiredOption('-p, --plan <file>', 'plan JSON (sky-plan/plan@1) from sky-plan plan')
    .option(
      '-c, --clouds <file>',
      "clouds spec with each cloud's libvirt or qmp settings (script, libvirt, qmp)",
    )
    .option('-d, --driver <name>', DRIVERS.join('|'), 'dry-run')
    .option('--script <file>', 'where --driver script writes the script (default: stdout)')
    .option('--journal <file>', 'journal of this run (default: the plan file + .journal)')
    .option('--resume <journal>', 'continue the interrupted run recorded in this journal')
    .option('--on-failure <policy>', 'stop|skip: after a failed migration, stop, or go on without it', 'stop')
    .option(
      '--max-per-source <n>',
      'concurrent migrations out of one cloud',
      String(CONCURRENCY_DEFAULTS.perSource),
    )
    .option(
      '--max-per-dest <n>',
      'concurrent migrations into one cloud',
      String(CONCURRENCY_DEFAULTS.perDestination),
    )
    .option(
      '--max-per-link <n>',
      'concurrent migrations between two clouds',
      String(CONCURRENCY_DEFAULTS.perLink),
    )
    .option('--json', 'JSON output: the schedule (dry-run) or JSON-lines events')
    .option(
      '--dedup',
      "qmp, libvirt: send each migration through the destination cloud's dedup tunnel (tunnel settings)",
    )
    .option(
      '--dedup-cache <dir>',
      "with --dedup: keep each destination store's picture here between runs, so a later run's first handshake carries only what changed (default: $XDG_CACHE_HOME/sky-plan/dedup, else ~/.cache/sky-plan/dedup)",
    )
    .option('--no-dedup-cache', 'with --dedup: forget the pictures at the end of the run')
    .action(async (flags: ExecuteFlags) => {
      process.exitCode = await executeAction(flags);
    });
}

async function executeAction(flags: ExecuteFlags): Promise<number> {
  checkOutputPath('--script', flags.script);
  if (!(DRIVERS as readonly string[]).includes(flags.driver))
    throw new UserError('bad_driver', `--driver: "${flags.driver}" is not one of ${DRIVERS.join(', ')}`);
  if (flags.onFailure !== 'stop' && flags.onFailure !== 'skip')
    throw new UserError('bad_on_failure', `--on-failure: "${flags.onFailure}" is not stop or skip`);
  if (
    (flags.resume !== undefined || flags.journal !== undefined) &&
    (flags.driver === 'dry-run' || flags.driver === 'script')
  )
    throw new UserError(
      'journal_driver',
      `--${flags.resume !== undefined ? 'resume' : 'journal'} is for runs that migrate (--driver qmp or libvirt); --driver ${flags.driver} moves nothing`,
    );
  const limits: ConcurrencyLimits = {
    perSource: positiveInt(flags.maxPerSource, '--max-per-source'),
    perDestination: positiveInt(flags.maxPerDest, '--max-per-dest'),
    perLink: positiveInt(flags.maxPerLink, '--max-per-link'),
  };
  const plan = await readExecutablePlan(flags.plan);
  const spec = flags.clouds === undefined ? undefined : await loadInventory(flags.clouds);
  const clouds = new Map<string, Cloud>((spec?.clouds ?? []).map((c) => [c.name, c]));
  const problems = planProblems(plan, spec);
  if (problems.length > 0)
    throw new UserError(
      'plan_not_executable',
      `${flags.plan} cannot be carried out, nothing was started:\n  ${problems.join('\n  ')}`,
    );
  if (flags.driver === 'dry-run' || flags.driver === 'script') {
    let waves: ReturnType<typeof schedule>;
    try {
      waves = schedule(scheduleInput(plan, limits));
    } catch (err) {
      if (err instanceof DeadlockError) throw new UserError('deadlock', err.message);
      throw err;
    }
    if (flags.driver === 'dry-run') {
      process.stdout.write(flags.json ? `${JSON.stringify({ waves }, null, 1)}\n` : renderSchedule(waves));
      return EXIT.ok;
    }
    if (spec === undefined)
      throw new UserError('missing_clouds', '--driver script needs --clouds (libvirt uris)');
    const script = migrationScript(waves, libvirtScript(clouds, spec));
    if (flags.script === undefined) process.stdout.write(script);
    else await writeFile(flags.script, script, { mode: 0o755 });
    return EXIT.ok;
  }
  if (flags.clouds === undefined)
    throw new UserError(
      'missing_clouds',
      `--driver ${flags.driver} needs --clouds (each cloud's ${flags.driver} settings)`,
    );
  if (flags.dedup && flags.driver !== 'qmp' && flags.driver !== 'libvirt')
    throw new UserError('dedup_driver', '--dedup works with --driver qmp or libvirt');
  // The QMP driver takes disks along: what the inventory leaves out of them is read from the files.
  if (flags.driver === 'qmp' && spec !== undefined) await fillDiskInfo(spec);
  const routes = flags.dedup ? new DedupRoutes(clouds, dedupCache(flags.dedupCache)) : undefined;
  const driver = migrationDriver(flags.driver, clouds, spec, routes);
  const afterMove = spec === undefined ? undefined : overlayHooks(clouds, spec);
  const journalPath = flags.resume ?? flags.journal ?? `${flags.plan}.journal`;
  if (flags.resume === undefined && existsSync(journalPath))
    throw new UserError(
      'journal_exists',
      `${journalPath} exists: resume that run with --resume ${journalPath}, or choose another --journal`,
    );
  const resumed = flags.resume === undefined ? undefined : readJournal(flags.resume);
  const journal = new Journal(journalPath);
  const write = (s: string) => process.stdout.write(s);
  try {
    const ok = await executePlan(plan, {
      driver,
      journal,
      planId: createHash('sha256').update(readFileSync(flags.plan)).digest('hex'),
      limits,
      onFailure: flags.onFailure,
      ...(resumed === undefined ? {} : { resumed }),
      events: flags.json || !process.stdout.isTTY ? jsonEvents(write) : terminalProgress(write),
      ...(afterMove === undefined ? {} : { afterMove }),
    });
    return ok ? EXIT.ok : EXIT.incomplete;
  } finally {
    journal.close();
    if (routes !== undefined) saveRoutes(routes);
  }
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError('bad_limit', `${flag}: "${text}" is not a positive integer`);
  return n;
}
