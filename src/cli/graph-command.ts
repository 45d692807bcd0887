import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { WINDOW_STATS, type WindowStat } from '../autopilot/traffic-window.js';
import { openHistory } from '../collect/open-history.js';
import { rangeGraph } from '../collect/range-graph.js';
import { UserError } from '../errors.js';
import { renderSummary } from '../graph/render-summary.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { parseDuration } from './duration.js';
import { checkOutputPath } from './output-path.js';

interface GraphFlags {
  from: string;
  since?: string;
  until?: string;
  stat: string;
  inventory?: string;
  window: string;
  bytes: string;
  out?: string;
  json?: boolean;
  clickhousePasswordFile?: string;
}

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .summary('the graph of any time range of stored windows')
    .description(
      'Writes the graph@1 document (what plan reads) of the windows stored in a time range: from ' +
        'ClickHouse (collect --from nats://... --store clickhouse://...) or from an NDJSON file of windows ' +
        "(the single collect's --journal, capture --out), with the numbers collect produced from the same windows.",
    )
    .requiredOption('--from <source>', 'clickhouse://[user@]host:port[/db], or an NDJSON file of windows')
    .option('--since <time>', 'start of the range: a duration ago (7d, 90m) or a UTC time (ISO 8601)')
    .option('--until <time>', 'end of the range (excluded), as --since (default: now)')
    .option('--stat <stat>', `each edge's rate over the range's windows: ${WINDOW_STATS.join('|')}`, 'mean')
    .option('--inventory <file>', 'inventory: VM names, hosts and clouds (as given to collect)')
    .option('-w, --window <duration>', 'window of the graph (as given to collect)', '60s')
    .option('--bytes <what>', 'wire|payload: what the collectors count', 'wire')
    .option('--clickhouse-password-file <file>', "the ClickHouse user's password (first line)")
    .option('-o, --out <file>', 'write the graph JSON here')
    .option('--json', 'print the graph JSON on stdout')
    .action(graphAction);
}

async function graphAction(flags: GraphFlags): Promise<void> {
  checkOutputPath('--out', flags.out);
  const stat = flags.stat as WindowStat;
  if (!WINDOW_STATS.includes(stat))
    throw new UserError('bad_stat', `--stat: "${flags.stat}" is not one of ${WINDOW_STATS.join(', ')}`);
  if (flags.bytes !== 'wire' && flags.bytes !== 'payload')
    throw new UserError('bad_bytes', `--bytes: "${flags.bytes}" is not wire or payload`);
  const now = Date.now() / 1000;
  const range = {
    since: flags.since === undefined ? 0 : timeOf(flags.since, '--since', now),
    until: flags.until === undefined ? now : timeOf(flags.until, '--until', now),
  };
  if (!(range.since < range.until))
    throw new UserError(
      'bad_time',
      `--since must come before --until (${flags.since} .. ${flags.until ?? 'now'})`,
    );
  const windowSeconds = parseDuration(flags.window, '--window');
  const inventory = flags.inventory === undefined ? undefined : await loadInventory(flags.inventory);
  const warn = (text: string) => process.stderr.write(`sky-plan: warning: ${text}\n`);
  const history = await openHistory(flags.from, flags.clickhousePasswordFile, warn);
  try {
    const { document, windows } = await rangeGraph(
      history,
      range,
      { inventory, windowSeconds, byteCount: flags.bytes },
      stat,
      warn,
    );
    if (windows === 0) warn(`no window of ${flags.from} starts in the range`);
    const json = `${JSON.stringify(document, null, 1)}\n`;
    if (flags.out !== undefined) await writeFile(flags.out, json);
    if (flags.json) process.stdout.write(json);
    else process.stdout.write(renderSummary(document));
  } finally {
    await history.close();
  }
}

/** A duration ago ("7d") or an ISO 8601 time with its zone ("2026-12-01T00:00:00Z"), in seconds. */
function timeOf(text: string, option: string, now: number): number {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)?$/.test(text.trim())) return now - parseDuration(text, option);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw new UserError(
      'bad_time',
      `${option}: "${text}" is neither a duration ago (7d) nor a UTC time (2026-12-01T00:00:00Z)`,
    );
  return ms / 1000;
}
