import { seededRng } from '../../planner/rng.js';
import type { Coverage } from './coverage.js';
import { mutate } from './mutate.js';
import { described, Finding, type Target } from './target.js';

/** Above these an input is a finding too: a hang in the making, or unbounded memory. */
export const LIMITS = { inputMs: 1000, rssBytes: 512 << 20 } as const;
const MAX_CORPUS = 2000;
const BATCH = { inputs: 256, ms: 25 } as const;

export interface FuzzReport {
  target: string;
  inputs: number;
  seconds: number;
  corpus: number;
  blocks: number;
  findings: { input: Buffer; problem: string }[];
}

/** Runs one input under every oracle; the problem it shows, if any. */
export async function check(target: Target, input: Buffer): Promise<string | undefined> {
  const started = performance.now();
  // A process warning is what a user sees as noise on stderr (a library's complaint): a finding too.
  // So is an exception thrown in an event handler: in sky-plan it would end the process.
  const warnings: string[] = [];
  const uncaught: unknown[] = [];
  const warned = (w: Error) => warnings.push(w.message);
  const thrown = (err: unknown) => uncaught.push(err);
  process.on('warning', warned);
  process.on('uncaughtException', thrown);
  try {
    await target.run(input);
    await new Promise((resolve) => setImmediate(resolve));
  } catch (err) {
    if (err instanceof Finding) return err.message;
    return `the harness itself failed: ${described(err)}`;
  } finally {
    process.off('warning', warned);
    process.off('uncaughtException', thrown);
  }
  if (uncaught.length > 0) return `an uncaught exception: ${described(uncaught[0])}`;
  if (warnings.length > 0) return `a process warning: ${warnings[0]}`;
  const ms = performance.now() - started;
  if (ms > LIMITS.inputMs) return `took ${ms.toFixed(0)} ms (limit ${LIMITS.inputMs} ms)`;
  const rss = process.memoryUsage.rss();
  if (rss > LIMITS.rssBytes)
    return `RSS ${(rss / 2 ** 20).toFixed(0)} MiB (limit ${LIMITS.rssBytes / 2 ** 20} MiB)`;
  return undefined;
}

/**
 * Coverage-guided mutation: an input that runs a block no earlier input ran joins the corpus, and
 * mutations start from the corpus. Each finding is minimised (runs cut out while it still fails).
 * Coverage is taken once per batch (taking it costs more than most inputs); only a batch that ran
 * something new is run again input by input, to find which of them did.
 */
export async function fuzz(
  target: Target,
  seconds: number,
  seed: number,
  coverage: Coverage,
): Promise<FuzzReport> {
  const rng = seededRng(seed);
  const seen = new Set<string>();
  const findings: FuzzReport['findings'] = [];
  const corpus: Buffer[] = [];
  /** Blocks of the last take that no input had run before. */
  const fresh = async () => (await coverage.take()).filter((block) => !seen.has(block));
  const keep = (input: Buffer, blocks: string[]) => {
    for (const block of blocks) seen.add(block);
    if (corpus.length < MAX_CORPUS) corpus.push(input);
  };
  /** Runs halves of a batch again, down to the inputs that ran the wanted blocks. */
  const attribute = async (batch: Buffer[], wanted: Set<string>): Promise<void> => {
    for (const input of batch) await check(target, input);
    const hit = (await coverage.take()).filter((block) => wanted.has(block) && !seen.has(block));
    if (hit.length === 0) return;
    if (batch.length === 1) return keep(batch[0] as Buffer, hit);
    const half = batch.length >> 1;
    await attribute(batch.slice(0, half), new Set(hit));
    await attribute(batch.slice(half), new Set(hit));
  };
  const run = async (input: Buffer) => {
    const problem = await check(target, input);
    if (problem !== undefined) findings.push({ input: await minimise(target, input), problem });
  };
  const seeds = target.seeds();
  await coverage.take(); // forget what ran before
  for (const input of seeds) {
    await run(input);
    keep(input, await fresh());
  }
  const started = performance.now();
  let inputs = seeds.length;
  while (performance.now() - started < seconds * 1000 && findings.length < 10) {
    const batch: Buffer[] = [];
    const batchStart = performance.now();
    while (batch.length < BATCH.inputs && performance.now() - batchStart < BATCH.ms) {
      const parent = corpus[Math.floor(rng() * corpus.length)] as Buffer;
      const other = corpus[Math.floor(rng() * corpus.length)] as Buffer;
      const input = (target.mutate ?? mutate)(parent, other, rng);
      batch.push(input);
      await run(input);
    }
    inputs += batch.length;
    const blocks = await fresh();
    if (blocks.length === 0) continue;
    await attribute(batch, new Set(blocks));
    // A block no single input runs again (a one-off initialisation) is not looked for again either.
    for (const block of blocks) seen.add(block);
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    target: target.name,
    inputs,
    seconds: elapsed,
    corpus: corpus.length,
    blocks: seen.size,
    findings,
  };
}

/** The shortest input found, cutting halves, quarters, ... out of it, that still shows a problem. */
async function minimise(target: Target, input: Buffer): Promise<Buffer> {
  let best = input;
  for (let chunk = best.length >> 1; chunk >= 1; chunk >>= 1)
    for (let at = 0; at + chunk <= best.length; ) {
      const cut = Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]);
      if ((await check(target, cut)) !== undefined) best = cut;
      else at += chunk;
    }
  return best;
}
