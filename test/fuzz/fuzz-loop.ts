import { seededRng } from '../../planner/rng.js';
import type { Coverage } from './coverage.js';
import { mutate } from './mutate.js';
import { Finding, type Target } from './targets.js';

/** Above these an input is a finding too: a hang in the making, or unbounded memory. */
export const LIMITS = { inputMs: 1000, rssBytes: 512 << 20 } as const;
const MAX_CORPUS = 2000;

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
  const warnings: string[] = [];
  const warned = (w: Error) => warnings.push(w.message);
  process.on('warning', warned);
  try {
    await target.run(input);
    await new Promise((resolve) => setImmediate(resolve));
  } catch (err) {
    if (err instanceof Finding) return err.message;
    return `the harness itself failed: ${(err as Error)?.stack ?? String(err)}`;
  } finally {
    process.off('warning', warned);
  }
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
  const learn = async (input: Buffer) => {
    let fresh = false;
    for (const block of await coverage.take())
      if (!seen.has(block)) {
        seen.add(block);
        fresh = true;
      }
    if (fresh && corpus.length < MAX_CORPUS) corpus.push(input);
  };
  const seeds = target.seeds();
  await coverage.take(); // forget what ran before
  for (const input of seeds) {
    const problem = await check(target, input);
    if (problem !== undefined) findings.push({ input, problem });
    await learn(input);
  }
  if (corpus.length === 0) corpus.push(...seeds, Buffer.alloc(0));
  const started = performance.now();
  let inputs = seeds.length;
  while (performance.now() - started < seconds * 1000 && findings.length < 10) {
    const parent = corpus[Math.floor(rng() * corpus.length)] as Buffer;
    const other = corpus[Math.floor(rng() * corpus.length)] as Buffer;
    const input = (target.mutate ?? mutate)(parent, other, rng);
    inputs++;
    const problem = await check(target, input);
    if (problem !== undefined) findings.push({ input: await minimise(target, input), problem });
    await learn(input);
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
