import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './helpers.js';

/** Every TypeScript source file under a top-level directory, relative to the repository. */
function sources(top: string): string[] {
  return (readdirSync(join(ROOT, top), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(top, f));
}

/** The repository-relative files a source imports (relative specifiers only: packages are not layers). */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) =>
    relative(ROOT, resolve(dirname(join(ROOT, file)), m[1] as string)).replace(/\.js$/, '.ts'),
  );
}

/** Imports of `files` that land under one of `forbidden`, as "file → target". */
function violations(files: string[], forbidden: string[]): string[] {
  return files.flatMap((f) =>
    imports(f)
      .filter((target) => forbidden.some((dir) => target.startsWith(`${dir}/`)))
      .map((target) => `${f} → ${target}`),
  );
}

describe('layers only import downward (README "Design")', () => {
  it('capture/ imports nothing from src/ or planner/', () => {
    assert.deepEqual(violations(sources('capture'), ['src', 'planner']), []);
  });

  it('planner/ imports nothing outside itself', () => {
    assert.deepEqual(violations(sources('planner'), ['src', 'capture']), []);
  });

  it('no domain code imports the CLI', () => {
    const domain = sources('src').filter((f) => !f.startsWith('src/cli/'));
    assert.ok(domain.length > 50);
    assert.deepEqual(violations(domain, ['src/cli']), []);
  });

  it('the check sees imports at all', () => {
    assert.ok(imports('src/cli/main.ts').includes('src/errors.ts'));
  });
});
