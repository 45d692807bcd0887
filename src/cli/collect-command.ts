import { createReadStream, existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Aggregator } from '../collect/aggregator.js';
import { CollectServer, type ListenAddress } from '../collect/collect-server.js';
import { readWindow } from '../collect/read-window.js';
import { WindowJournal } from '../collect/window-journal.js';
import { UserError } from '../errors.js';
import { graphDocument } from '../graph/graph-document.js';
import { renderSummary } from '../graph/render-summary.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { parseDuration } from './duration.js';
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
  const http = flags.listen === undefined ? undefined : address(flags.listen, '--listen');
  const udp = flags.flows === undefined ? undefined : address(flags.flows, '--flows');
  const exporterHosts = new Map(
    flags.exporterHost.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UserError('bad_exporter_host', `--exporter-host "${pair}" is not ip=host`);
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    }),
  );
  const aggregator = new Aggregator({
    inventory: flags.inventory === undefined ? undefined : await loadInventory(flags.inventory),
    windowSeconds,
    byteCount: flags.bytes,
    exporterHosts,
    retainWindows: Math.ceil(parseDuration(flags.retain, '--retain') / windowSeconds),
  });
  const warn = (text: string) => process.stderr.write(`sky-plan: warning: ${text}\n`);
  let server: CollectServer | undefined;
  let cache = { version: -1, json: '' };
  const graphJson = () => {
    if (cache.version !== aggregator.version) {
      const analysis = aggregator.analysis(server?.exportProblems() ?? []);
      cache = {
        version: aggregator.version,
        json: `${JSON.stringify(graphDocument(analysis), null, 1)}\n`,
      };
    }
    return cache.json;
  };
  const replay = flags.journal !== undefined && existsSync(flags.journal) ? [flags.journal] : [];
  for (const file of [...replay, ...files]) await readWindowFile(file, aggregator, warn);
  aggregator.settleAll();
  if (http !== undefined || udp !== undefined) {
    const journal = flags.journal === undefined ? undefined : new WindowJournal(flags.journal);
    server = new CollectServer(aggregator, graphJson, warn, token, journal);
    await listen(server, http, udp, warn);
    let written = -1;
    // One write at a time: two would share the temporary file, and the second rename would find it gone.
    let writing = Promise.resolve();
    const write = () => {
      writing = writing.then(async () => {
        if (flags.out === undefined || written === aggregator.version) return;
        written = aggregator.version;
        await writeAtomically(flags.out, graphJson()).catch((err: Error) => {
          written = -1;
          warn(`could not write ${flags.out}: ${err.message}; trying again at the next write`);
        });
      });
    };
    const timer = setInterval(write, writeEvery * 1000);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      if (duration !== undefined) setTimeout(resolve, duration * 1000);
    });
    clearInterval(timer);
    await writing;
    await server.close();
    journal?.close();
    aggregator.settleAll();
  }
  const json = graphJson();
  if (flags.out !== undefined) await writeAtomically(flags.out, json);
  if (flags.json) process.stdout.write(json);
  else process.stdout.write(renderSummary(JSON.parse(json)));
}

async function listen(
  server: CollectServer,
  http: ListenAddress | undefined,
  udp: ListenAddress | undefined,
  warn: (t: string) => void,
): Promise<void> {
  try {
    if (http !== undefined) {
      const a = await server.listenHttp(http);
      warn(`listening for collectors on http://${a.address}:${a.port}`);
    }
    if (udp !== undefined) {
      const a = await server.listenFlows(udp);
      warn(`listening for flow exports on udp ${a.address}:${a.port}`);
    }
  } catch (err) {
    await server.close();
    const e = err as NodeJS.ErrnoException;
    throw new UserError(
      'cannot_listen',
      `cannot listen: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`,
    );
  }
}

function address(text: string, option: string): ListenAddress {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) {
    throw new UserError('bad_listen', `${option}: "${text}" is not [host:]port`);
  }
  return { host: m[1] === undefined || m[1] === '' ? '0.0.0.0' : m[1], port };
}

/** NDJSON windows; a bad line is named and skipped, the rest still counts. */
async function readWindowFile(
  path: string,
  aggregator: Aggregator,
  warn: (t: string) => void,
): Promise<void> {
  const stream = createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new UserError('cannot_read', `cannot read ${path}: ${(err as Error).message}`);
  }
  let line = 0;
  let taken = 0;
  // Problems before the first window are held: a file with no window at all is the wrong file (an error),
  // one with some is damaged (warnings).
  const held: string[] = [];
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    try {
      aggregator.addWindow(readWindow(JSON.parse(text)));
      if (taken++ === 0) for (const problem of held.splice(0)) warn(`${problem}; skipped`);
    } catch (err) {
      const problem = `${path}:${line}: not a window: ${(err as Error).message}`;
      if (taken > 0) warn(`${problem}; skipped`);
      else if (held.length < 100) held.push(problem);
    }
  }
  if (taken === 0 && held.length > 0)
    throw new UserError('not_windows', `${held[0]} (no line of ${path} is a sky-plan window)`);
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}
