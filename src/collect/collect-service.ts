import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { graphDocument } from '../graph/graph-document.js';
import { Aggregator, type AggregatorOptions, RefusedWindow } from './aggregator.js';
import { CollectServer, type ListenAddress } from './collect-server.js';
import { type ConsumeOptions, consumeWindows } from './nats-source.js';
import { readWindowFile } from './read-window-file.js';
import { WindowJournal } from './window-journal.js';

export interface CollectOptions {
  aggregator: AggregatorOptions;
  /** NDJSON window files, read before listening. */
  files: readonly string[];
  /** Every window taken is appended here, and the file is replayed first when it exists. */
  journal?: string | undefined;
  http?: ListenAddress | undefined;
  udp?: ListenAddress | undefined;
  /** Windows from a JetStream stream, through a durable consumer of this aggregator's own. */
  nats?: Omit<ConsumeOptions, 'handle' | 'stop' | 'warn'> | undefined;
  /** The graph JSON, kept current (rewritten atomically every `writeEvery` seconds while listening). */
  out?: string | undefined;
  writeEvery: number;
  token?: string | undefined;
  /** Called once listening has begun; listening ends when its promise settles (a signal, a duration). */
  untilStop: () => Promise<void>;
  warn: (text: string) => void;
}

/**
 * The aggregator's service: replay the journal and the files, listen for collectors and exporters until
 * `stop`, keep `out` current meanwhile, and return the final graph JSON (also written to `out`).
 */
export async function runCollect(options: CollectOptions): Promise<string> {
  const { warn } = options;
  const aggregator = new Aggregator(options.aggregator);
  let server: CollectServer | undefined;
  let cache = { version: -1, json: '' };
  const graphJson = () => {
    if (cache.version !== aggregator.version) {
      const analysis = aggregator.analysis(server?.exportProblems() ?? []);
      cache = { version: aggregator.version, json: `${JSON.stringify(graphDocument(analysis), null, 1)}\n` };
    }
    return cache.json;
  };
  const replay = options.journal !== undefined && existsSync(options.journal) ? [options.journal] : [];
  for (const file of [...replay, ...options.files]) await readWindowFile(file, aggregator, warn);
  aggregator.settleAll();
  if (options.http !== undefined || options.udp !== undefined || options.nats !== undefined) {
    const journal = options.journal === undefined ? undefined : new WindowJournal(options.journal);
    if (options.http !== undefined || options.udp !== undefined) {
      server = new CollectServer(aggregator, graphJson, warn, options.token, journal);
      await listen(server, options.http, options.udp, warn);
    }
    const stop = options.untilStop();
    const consuming =
      options.nats === undefined
        ? stop
        : consumeWindows({
            ...options.nats,
            stop,
            warn,
            handle: async (docs) => {
              for (const doc of docs) {
                try {
                  if (aggregator.addWindow(doc)) journal?.append(JSON.stringify(doc));
                } catch (err) {
                  if (!(err instanceof RefusedWindow)) throw err;
                  warn(`window ${doc.id} refused: ${err.message}`);
                }
              }
            },
          }).then(() => undefined);
    const out = options.out;
    let written = -1;
    // One write at a time: two would share the temporary file, and the second rename would find it gone.
    let writing = Promise.resolve();
    const write = () => {
      writing = writing.then(async () => {
        if (out === undefined || written === aggregator.version) return;
        written = aggregator.version;
        await writeAtomically(out, graphJson()).catch((err: Error) => {
          written = -1;
          warn(`could not write ${out}: ${err.message}; trying again at the next write`);
        });
      });
    };
    const timer = setInterval(write, options.writeEvery * 1000);
    // A consumer that fails (the stream refused it) ends the run at once, not at the next signal.
    await Promise.race([stop, consuming]);
    await consuming;
    clearInterval(timer);
    await writing;
    await server?.close();
    journal?.close();
    aggregator.settleAll();
  }
  const json = graphJson();
  if (options.out !== undefined) await writeAtomically(options.out, json);
  return json;
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

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}
