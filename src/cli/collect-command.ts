import { hostname } from 'node:os';
import type { Command } from 'commander';
import { runCollect } from '../collect/collect-service.js';
import { runStoreWorker } from '../collect/store-worker.js';
import { UserError } from '../errors.js';
import { renderSummary } from '../graph/render-summary.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { clickHouseTarget } from '../store/store-url.js';
import { parseDuration } from './duration.js';
import { integer } from './integer.js';
import { listenAddress } from './listen-address.js';
import { type NatsFlags, natsOptions, natsTarget, streamOptions } from './nats-flags.js';
import { checkOutputPath } from './output-path.js';
import { repeatable } from './repeatable.js';
import { readToken } from './token.js';

interface CollectFlags extends NatsFlags {
  from?: string;
  consumer?: string;
  store?: string;
  clickhousePasswordFile?: string;
  batch: string;
  retainRaw: string;
  retain1m: string;
  retain1h: string;
  listen?: string;
  flows?: string;
  out?: string;
  inventory?: string;
  window: string;
  exporterHost: string[];
  writeEvery: string;
  retain: string;
  duration?: string;
  json?: boolean;
  tokenFile?: string;
  bytes: string;
  journal?: string;
}

export function registerCollect(program: Command): void {
  const command = program
    .command('collect')
    .summary('merge many collectors and flow exporters into one graph')
    .description(
      'Aggregates the windows of sky-plan capture collectors (HTTP, --listen; or NDJSON files given as ' +
        'arguments) and flow exports (NetFlow v5/v9, IPFIX, sFlow v5 on UDP, --flows) into one graph: ' +
        "each packet counts once, in its sender's hypervisor's capture; a window received twice counts " +
        'once. Serves GET /v1/graph and /v1/status, and keeps --out (graph@1, what plan reads) current.',
    )
    .argument('[windows...]', 'NDJSON window files written by sky-plan capture --out')
    .option('-l, --listen <[host:]port>', 'HTTP for collectors and readers, e.g. 0.0.0.0:7411')
    .option('--flows <[host:]port>', 'UDP port for NetFlow/IPFIX/sFlow exporters, e.g. 0.0.0.0:2055')
    .option('-o, --out <file>', 'graph JSON kept current (written atomically)')
    .option('--inventory <file>', 'inventory: VM names, hosts and clouds')
    .option('-w, --window <duration>', 'window of the merged graph', '60s')
    .option(
      '--exporter-host <ip=host>',
      'the hypervisor a flow exporter reports for (repeatable)',
      repeatable,
      [],
    )
    .option('--write-every <duration>', 'how often --out is rewritten while listening', '10s')
    .option('--retain <duration>', 'per-window history kept (totals are kept forever)', '7d')
    .option('--duration <duration>', 'stop listening after this long (default: until SIGINT/SIGTERM)')
    .option('--token-file <file>', 'require this bearer token on every HTTP request (one line)')
    .option('--journal <file>', 'keep every window taken here and replay it at start (survives a restart)')
    .option('--bytes <what>', 'wire|payload: what the collectors count (capture --bytes)', 'wire')
    .option('--json', 'print the graph JSON on stdout at the end')
    .option(
      '--from <nats-url>',
      'consume windows from a JetStream stream: nats://host:port[,host:port][/stream]',
    )
    .option(
      '--consumer <name>',
      'durable consumer: replicas naming the same one share the windows (default: sky-plan-store with --store, else sky-plan-graph-<hostname>)',
    )
    .option(
      '--store <clickhouse-url>',
      'with --from: store each window in ClickHouse, clickhouse://[user@]host:port[/db]',
    )
    .option('--clickhouse-password-file <file>', "the ClickHouse user's password (first line)")
    .option('--batch <n>', 'windows taken from the stream and stored at once', '64')
    .option('--retain-raw <duration>', 'with --store: per-window rows kept (whole days)', '7d')
    .option('--retain-1m <duration>', 'with --store: 1-minute rollups kept (whole days)', '30d')
    .option('--retain-1h <duration>', 'with --store: 1-hour rollups kept (whole months)', '400d');
  natsOptions(command).action(collectAction);
}

async function collectAction(files: string[], flags: CollectFlags): Promise<void> {
  if (
    files.length === 0 &&
    flags.listen === undefined &&
    flags.flows === undefined &&
    flags.from === undefined
  ) {
    throw new UserError('nothing_to_collect', 'give window files, --listen, --flows or --from');
  }
  if (flags.store !== undefined) return storeAction(files, flags);
  // Every flag is checked before anything listens.
  checkOutputPath('--out', flags.out);
  const windowSeconds = parseDuration(flags.window, '--window');
  const writeEvery = parseDuration(flags.writeEvery, '--write-every');
  const duration = flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration');
  const token = flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile);
  if (flags.bytes !== 'wire' && flags.bytes !== 'payload') {
    throw new UserError('bad_bytes', `--bytes: "${flags.bytes}" is not wire or payload`);
  }
  const http = flags.listen === undefined ? undefined : listenAddress(flags.listen, '--listen');
  const udp = flags.flows === undefined ? undefined : listenAddress(flags.flows, '--flows');
  const exporterHosts = new Map(
    flags.exporterHost.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UserError('bad_exporter_host', `--exporter-host "${pair}" is not ip=host`);
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    }),
  );
  const nats =
    flags.from === undefined
      ? undefined
      : {
          target: natsTarget(flags.from, flags, '--from'),
          stream: streamOptions(flags),
          // A graph needs every window: each graph-keeping aggregator has a consumer of its own (fan-out).
          consumer: flags.consumer ?? `sky-plan-graph-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}`,
          batch: integer(flags.batch, '--batch', 1, 10_000),
        };
  const json = await runCollect({
    aggregator: {
      inventory: flags.inventory === undefined ? undefined : await loadInventory(flags.inventory),
      windowSeconds,
      byteCount: flags.bytes,
      exporterHosts,
      retainWindows: Math.ceil(parseDuration(flags.retain, '--retain') / windowSeconds),
    },
    files,
    journal: flags.journal,
    http,
    udp,
    nats,
    out: flags.out,
    writeEvery,
    token,
    untilStop: () => stopSignal(duration),
    warn: (text) => process.stderr.write(`sky-plan: warning: ${text}\n`),
  });
  if (flags.json) process.stdout.write(json);
  else process.stdout.write(renderSummary(JSON.parse(json)));
}

/**
 * `--from nats://... --store clickhouse://...`: a replica of the scale-out path. It keeps no graph of its
 * own (`sky-plan graph --from clickhouse://...` reads the merged one), so the options of the in-memory
 * graph do not apply.
 */
async function storeAction(files: string[], flags: CollectFlags): Promise<void> {
  const graphOnly = {
    '--listen': flags.listen,
    '--flows': flags.flows,
    '--out': flags.out,
    '--journal': flags.journal,
  };
  const clash = Object.entries(graphOnly).find(([, value]) => value !== undefined)?.[0];
  if (flags.from === undefined || files.length > 0 || clash !== undefined || flags.json === true)
    throw new UserError(
      'conflicting_options',
      `--store takes windows from --from alone and keeps no graph here (${clash ?? (flags.from === undefined ? 'no --from' : files.length > 0 ? 'window files' : '--json')}); read it with sky-plan graph --from ${flags.store}`,
    );
  const days = (text: string, option: string) => parseDuration(text, option) / 86400;
  const store = clickHouseTarget(flags.store as string, flags.clickhousePasswordFile, '--store');
  const duration = flags.duration === undefined ? undefined : parseDuration(flags.duration, '--duration');
  const warn = (text: string) => process.stderr.write(`sky-plan: warning: ${text}\n`);
  const result = await runStoreWorker({
    target: natsTarget(flags.from, flags, '--from'),
    stream: streamOptions(flags),
    consumer: flags.consumer ?? 'sky-plan-store',
    batch: integer(flags.batch, '--batch', 1, 10_000),
    store,
    retention: {
      rawDays: days(flags.retainRaw, '--retain-raw'),
      minuteDays: days(flags.retain1m, '--retain-1m'),
      hourDays: days(flags.retain1h, '--retain-1h'),
    },
    inventory: flags.inventory === undefined ? undefined : await loadInventory(flags.inventory),
    stop: stopSignal(duration),
    warn,
  });
  process.stdout.write(
    `took ${result.windows} windows from the stream, ${result.stored} new to the store (the rest held already), ${result.refused} refused\n`,
  );
}

/** Settles at SIGINT or SIGTERM, or after `duration` seconds. */
function stopSignal(duration: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (duration !== undefined) setTimeout(resolve, duration * 1000).unref();
  });
}
