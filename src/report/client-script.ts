import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The report's browser bundle, which `npm run build` writes to dist/report-client.js with esbuild. It is
 * found from the package root, the same whether this runs from the CLI bundle or the compiled modules.
 */
export function clientScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('report: package root not found');
    dir = parent;
  }
  const path = join(dir, 'dist', 'report-client.js');
  if (!existsSync(path)) throw new Error(`report: ${path} is missing; run npm run build`);
  return readFileSync(path, 'utf8');
}
