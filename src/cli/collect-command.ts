import type { Command } from 'commander';
import { runCollect } from '../collect/collect-service.js';
import { UserError } from '../errors.js';
import { renderSummary } from '../graph/render-summary.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { parseDuration } from './duration.js';
import { listenAddress } from './listen-address.js';
import { checkOutputPath } from './output-path.js';
import { repeatable } from './repeatable.js';
import { readToken } from './token.js';

interface CollectFlags {
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
  program
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
    .action(collectAction);
}

async function collectAction(files: string[], flags: CollectFlags): Promise<void> {
  if (files.length === 0 && flags.listen === undefined && flags.flows === undefined) {
    throw new UserError('nothing_to_collect', 'give window files, --listen or --flows');
  }
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
  const untilStop = () =>
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      if (duration !== undefined) setTimeout(resolve, duration * 1000);
    });
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
    out: flags.out,
    writeEvery,
    token,
    untilStop,
    warn: (text) => process.stderr.write(`sky-plan: warning: ${text}\n`),
  });
  if (flags.json) process.stdout.write(json);
  else process.stdout.write(renderSummary(JSON.parse(json)));
}
