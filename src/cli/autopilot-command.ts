import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { autopilotMetrics } from '../autopilot/autopilot-metrics.js';
import { type AutopilotEvent, parseEvents } from '../autopilot/events.js';
import { POLICY_DEFAULTS } from '../autopilot/policy.js';
import { roundExecutor } from '../autopilot/round-executor.js';
import { runAutopilot } from '../autopilot/run-autopilot.js';
import { WINDOW_STATS, type WindowStat } from '../autopilot/traffic-window.js';
import { EXIT, UserError } from '../errors.js';
import { DedupRoutes } from '../execute/drivers/dedup-tunnel.js';
import { loadInventory } from '../inventory/load-inventory.js';
import type { Cloud } from '../inventory/schema.js';
import { parseGraph, readGraph } from '../plan/read-graph.js';
import { readTextSync } from '../read-text.js';
import { parseDuration } from './duration.js';
import { listenAddress } from './listen-address.js';
import { dedupCache, migrationDriver, saveRoutes } from './migration-driver.js';
import { checkOutputPath } from './output-path.js';

interface AutopilotFlags {
  graph: string;
  clouds: string;
  events?: string;
  state: string;
  log?: string;
  period: string;
  window: string;
  stat: string;
  baselineWindow: string;
  margin: string;
  minSaving: string;
  maxMovesPerVm: string;
  damping: string;
  horizon: string;
  driver?: string;
  dedup?: boolean;
  dryRun?: boolean;
  once?: boolean;
  now?: string;
  listen?: string;
}

export function registerAutopilot(program: Command): void {
  program
    .command('autopilot')
    .summary('re-plan as traffic, prices and capacity change, and carry the plans out')
    .description(
      'Every --period, and at once when an event falls due, plans on the last --window of the live graph\n' +
        "(collect's, a file or its URL) and the clouds spec with the events applied, and migrates only when\n" +
        'the saving over --horizon exceeds the migrations by --margin, also on the longer --baseline-window.\n' +
        'A VM moved --max-moves-per-vm times within --damping stays. A termination notice evacuates its VM\n' +
        'first. Each round is a line of the decision log: its trigger, the figures weighed, and why it acted or\n' +
        'held. Run it with --dry-run first.',
    )
    .requiredOption(
      '-g, --graph <file|url>',
      "the live graph: a graph@1 file, or collect's http://HOST:PORT/v1/graph",
    )
    .requiredOption(
      '-c, --clouds <file>',
      'clouds spec (prices, capacities, placement, driver settings), read each round',
    )
    .option(
      '--events <file|dir|url>',
      'JSON events (price, capacity, drain, undrain, terminate, pin, unpin): a file, a directory of them, or an HTTP endpoint',
    )
    .option('--state <file>', 'where autopilot keeps its moves across restarts', 'autopilot.state.json')
    .option('--log <file>', 'decision log, JSON lines (default: stdout)')
    .option('--period <duration>', 'time between rounds', '5m')
    .option('--window <duration>', 'the traffic each round plans on: this much of the latest windows', '1h')
    .option('--stat <stat>', `per-edge statistic over the window: ${WINDOW_STATS.join('|')}`, 'p95')
    .option('--baseline-window <duration>', 'a plan must also pay on the mean of this longer window', '24h')
    .option(
      '--margin <ratio>',
      'the saving must exceed the migration cost by this share',
      String(POLICY_DEFAULTS.margin),
    )
    .option('--min-saving <dollars>', 'and by at least this much', String(POLICY_DEFAULTS.minSavingDollars))
    .option(
      '--max-moves-per-vm <n>',
      'moves of one VM within --damping',
      String(POLICY_DEFAULTS.maxMovesPerVm),
    )
    .option('--damping <duration>', 'the period --max-moves-per-vm counts over', '24h')
    .option('--horizon <duration>', 'how long a placement is expected to stay right', '7d')
    .option('-d, --driver <name>', 'qmp|libvirt: how the moves are carried out')
    .option('--dedup', "with --driver: through each destination cloud's dedup tunnel")
    .option('--dry-run', 'decide and log, move nothing')
    .option('--once', 'one round, then exit')
    .option(
      '--now <time>',
      "the round's time instead of the clock: seconds since the epoch, ISO 8601, or 'end' (the graph's last window)",
    )
    .option(
      '--listen <host:port>',
      'serve GET /v1/status (the last decision) and GET /metrics (Prometheus text)',
    )
    .action(async (flags: AutopilotFlags) => {
      process.exitCode = await autopilotAction(flags);
    });
}

async function autopilotAction(flags: AutopilotFlags): Promise<number> {
  checkOutputPath('--state', flags.state);
  checkOutputPath('--log', flags.log);
  if (flags.driver === undefined && !flags.dryRun)
    throw new UserError(
      'missing_driver',
      'autopilot moves VMs: give --driver qmp|libvirt, or --dry-run to only decide',
    );
  if (flags.driver !== undefined && flags.driver !== 'qmp' && flags.driver !== 'libvirt')
    throw new UserError('bad_driver', `--driver: "${flags.driver}" is not qmp or libvirt`);
  if (!(WINDOW_STATS as readonly string[]).includes(flags.stat))
    throw new UserError('bad_stat', `--stat: "${flags.stat}" is not one of ${WINDOW_STATS.join(', ')}`);
  const policy = {
    ...POLICY_DEFAULTS,
    horizonSeconds: parseDuration(flags.horizon, '--horizon'),
    margin: nonNegative(flags.margin, '--margin'),
    minSavingDollars: nonNegative(flags.minSaving, '--min-saving'),
    maxMovesPerVm: Math.max(1, Math.round(nonNegative(flags.maxMovesPerVm, '--max-moves-per-vm'))),
    dampingSeconds: parseDuration(flags.damping, '--damping'),
  };
  const graph = graphSource(flags.graph);
  const clock = await clockOf(flags.now, graph);
  const log =
    flags.log === undefined
      ? (e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(e)}\n`)
      : (e: Record<string, unknown>) => appendFileSync(flags.log as string, `${JSON.stringify(e)}\n`);
  const spec = await loadInventory(flags.clouds);
  const clouds = new Map<string, Cloud>(spec.clouds.map((c) => [c.name, c]));
  const routes = flags.dedup ? new DedupRoutes(clouds, dedupCache(undefined)) : undefined;
  const execute =
    flags.dryRun || flags.driver === undefined
      ? undefined
      : roundExecutor(flags.state, migrationDriver(flags.driver, clouds, spec, routes), log);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const metrics = autopilotMetrics();
  const server =
    flags.listen === undefined ? undefined : await metrics.listen(listenAddress(flags.listen, '--listen'));
  try {
    await runAutopilot({
      graph,
      spec: () => loadInventory(flags.clouds),
      events: async () => (flags.events === undefined ? [] : await readEvents(flags.events)),
      stateFile: flags.state,
      log,
      window: {
        seconds: parseDuration(flags.window, '--window'),
        stat: flags.stat as WindowStat,
        baselineSeconds: parseDuration(flags.baselineWindow, '--baseline-window'),
      },
      policy,
      period: parseDuration(flags.period, '--period'),
      clock,
      once: flags.once === true,
      execute,
      signal: abort.signal,
      onDecision: metrics.record,
    });
  } finally {
    server?.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (routes !== undefined) saveRoutes(routes);
  }
  return EXIT.ok;
}

function nonNegative(text: string, flag: string): number {
  const n = Number(text);
  if (!(n >= 0) || !Number.isFinite(n))
    throw new UserError('bad_number', `${flag}: "${text}" is not a number of at least 0`);
  return n;
}

/** The graph, from a file or from collect's HTTP API. */
function graphSource(where: string) {
  if (!/^https?:\/\//.test(where)) return () => readGraph(where);
  return async () => parseGraph(await fetchText(where, 'graph_unreadable', 'the graph'), where);
}

async function fetchText(
  url: string,
  code: 'graph_unreadable' | 'events_unreadable',
  what: string,
): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return await res.text();
  } catch (err) {
    throw new UserError(code, `cannot read ${what} from ${url}: ${(err as Error).message}`);
  }
}

async function clockOf(
  now: string | undefined,
  graph: ReturnType<typeof graphSource>,
): Promise<() => number> {
  if (now === undefined) return () => Date.now() / 1000;
  if (now === 'end') {
    const g = await graph();
    const w = g.window;
    if (w == null)
      throw new UserError(
        'not_windows',
        '--now end: the graph has no windows (analyze or collect it with --window)',
      );
    const end = w.first + w.count * w.seconds;
    return () => end;
  }
  const t = /^\d+(\.\d+)?$/.test(now) ? Number(now) : Date.parse(now) / 1000;
  if (!Number.isFinite(t))
    throw new UserError(
      'bad_number',
      `--now: "${now}" is not a time (seconds since the epoch, ISO 8601 or end)`,
    );
  return () => t;
}

/**
 * Every event of a file, of each *.json and *.jsonl file of a directory in name order, or of what an
 * HTTP endpoint answers to GET.
 */
async function readEvents(where: string): Promise<AutopilotEvent[]> {
  if (/^https?:\/\//.test(where))
    return parseEvents(await fetchText(where, 'events_unreadable', 'the events'), where);
  let files: string[];
  try {
    files = statSync(where).isDirectory()
      ? readdirSync(where)
          .filter((f) => /\.jsonl?$/.test(f))
          .sort()
          .map((f) => join(where, f))
      : [where];
  } catch (err) {
    throw new UserError('events_unreadable', `cannot read the events ${where}: ${(err as Error).message}`);
  }
  return files.flatMap((f) => parseEvents(readTextSync(f, 'events_unreadable', 'the events'), f));
}
