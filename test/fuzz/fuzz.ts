import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers.js';
import { Coverage } from './coverage.js';
import { fuzz } from './fuzz-loop.js';
import { TARGETS } from './targets.js';

/**
 * `npm run fuzz -- TARGET|all [--seconds N] [--seed N]`: coverage-guided fuzzing of sky-plan's parsers
 * for N seconds (30 by default), shared evenly between the targets with `all`. Each finding is
 * minimised and saved under fixtures/fuzz/TARGET/, where the corpus test replays it.
 */
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const which = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'all';
const chosen = which === 'all' ? TARGETS : TARGETS.filter((t) => t.name === which);
if (chosen.length === 0) {
  process.stderr.write(`fuzz: no target "${which}" (${TARGETS.map((t) => t.name).join(', ')}, all)\n`);
  process.exit(2);
}
const seconds = option('--seconds', 30) / chosen.length;
const coverage = new Coverage();
await coverage.start();
let found = 0;
let inputs = 0;
for (const target of chosen) {
  const r = await fuzz(target, seconds, option('--seed', 1), coverage);
  inputs += r.inputs;
  process.stdout.write(
    `${target.name.padEnd(14)} ${String(r.inputs).padStart(8)} inputs in ${r.seconds.toFixed(0)} s ` +
      `(${(r.inputs / r.seconds).toFixed(0)}/s), corpus ${r.corpus}, ${r.blocks} blocks, ` +
      `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}\n`,
  );
  for (const { input, problem } of r.findings) {
    const dir = fixture('fuzz', target.name);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `crash-${createHash('sha256').update(input).digest('hex').slice(0, 12)}`);
    writeFileSync(path, input);
    process.stdout.write(`  ${path} (${input.length} bytes): ${problem.split('\n')[0]}\n`);
    found++;
  }
}
coverage.stop();
const peak = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`${inputs} inputs in all, ${found} findings, peak RSS ${peak.toFixed(0)} MiB\n`);
process.exit(found > 0 ? 1 : 0);
