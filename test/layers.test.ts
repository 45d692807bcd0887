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

/**
 * The repository-relative files a source imports (relative specifiers only: packages are not layers);
 * with `values`, only imports that bring code, not `import type`.
 */
function imports(file: string, values = false): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(import|export)\b(\s+type\b)?[^'"]*?from\s+'(\.[^']+)'/gm)]
    .filter((m) => !(values && m[2] !== undefined))
    .map((m) => relative(ROOT, resolve(dirname(join(ROOT, file)), m[3] as string)).replace(/\.js$/, '.ts'));
}

/** Imports of `files` that land under one of `forbidden`, as "file → target". */
function violations(files: string[], forbidden: string[]): string[] {
  return files.flatMap((f) =>
    imports(f)
      .filter((target) => forbidden.some((dir) => target.startsWith(`${dir}/`)))
      .map((target) => `${f} → ${target}`),
  );
}

/** Every cycle a depth-first search meets in a "uses" relation, as "a → b → a". */
function cycles(uses: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      found.push([...path.slice(path.indexOf(node)), node].join(' → '));
      return;
    }
    state.set(node, 'open');
    for (const next of uses.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const node of [...uses.keys()].sort()) visit(node, []);
  return found;
}

describe('layers only import downward (README "Design")', () => {
  it('capture/ imports nothing from src/ or planner/', () => {
    assert.deepEqual(violations(sources('capture'), ['src', 'planner']), []);
  });

  it('planner/ imports nothing outside itself', () => {
    assert.deepEqual(violations(sources('planner'), ['src', 'capture']), []);
  });

  it('solvers are leaves: none imports another (solve.ts composes them)', () => {
    const solvers = sources('planner/solvers').filter((f) => !f.endsWith('milp-model.ts'));
    assert.ok(solvers.length >= 4);
    assert.deepEqual(
      violations(solvers, ['planner/solvers']).filter((v) => !v.endsWith('milp-model.ts')),
      [],
    );
  });

  it('no domain code imports the CLI', () => {
    const domain = sources('src').filter((f) => !f.startsWith('src/cli/'));
    assert.ok(domain.length > 50);
    assert.deepEqual(violations(domain, ['src/cli']), []);
  });

  it("the report's browser client imports only formatting, and its data as types", () => {
    const allowed = new Set(['src/text-format.ts', 'src/utc-time.ts']);
    const client = sources('src/report/client');
    assert.ok(client.length >= 4);
    assert.deepEqual(
      client.flatMap((f) =>
        imports(f, true)
          .filter((t) => !t.startsWith('src/report/client/') && !allowed.has(t))
          .map((t) => `${f} → ${t}`),
      ),
      [],
    );
  });

  it('folders import one another without a cycle', () => {
    // Folder → folders it imports from (its own files aside); then a depth-first search for a cycle.
    // The three top folders' own files (errors, formatting, the analyze entry point) sit beside their
    // subfolders, and are left out: a subfolder may use them, and they may compose the subfolders.
    const tops = new Set(['capture', 'planner', 'src']);
    const uses = new Map<string, Set<string>>();
    for (const f of [...tops].flatMap(sources)) {
      const from = dirname(f);
      if (tops.has(from)) continue;
      for (const target of imports(f)) {
        const to = dirname(target);
        if (to === from || tops.has(to)) continue;
        if (!uses.has(from)) uses.set(from, new Set());
        uses.get(from)?.add(to);
      }
    }
    assert.ok(uses.size > 10);
    assert.deepEqual(cycles(uses), []);
  });

  it('files import one another without a cycle (types aside: they vanish at compile time)', () => {
    const uses = new Map(
      [...['capture', 'planner', 'src'].flatMap(sources)].map((f) => [f, new Set(imports(f, true))]),
    );
    assert.ok(uses.size > 150);
    assert.deepEqual(cycles(uses), []);
  });

  it('the check sees imports at all', () => {
    assert.ok(imports('src/cli/main.ts').includes('src/errors.ts'));
    assert.ok(imports('src/report/client/main.ts').includes('src/report/report-data.ts'));
    assert.ok(!imports('src/report/client/main.ts', true).includes('src/report/report-data.ts'));
  });
});
