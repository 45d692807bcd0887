import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

/**
 * The spec files to run, for package.json: with `--all` every one (npm run test:all, what CI runs);
 * else those a developer can run anywhere in a minute (npm test), leaving out the specs whose source
 * starts with an `// @integration: needs ...` line (root, QEMU, tshark, Chromium, Open MPI, OVS...).
 */
const all = process.argv.includes('--all');
const specs = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => all || !readFileSync(join(ROOT, 'test', f), 'utf8').startsWith('// @integration:'))
  .map((f) => join('dist', 'test', f.replace(/\.ts$/, '.js')))
  .sort();
process.stdout.write(`${specs.join(' ')}\n`);
