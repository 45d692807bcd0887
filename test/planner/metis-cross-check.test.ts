// @integration: needs gpmetis (Debian metis), against `sky-plan plan` on three graph families
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cut, GRAPH_FAMILIES, graphJson, metisText } from '../bench/graph-families.js';
import { runCli, tempDir } from '../helpers.js';

const K = 8;

/**
 * The multilevel partitioner's edge cut against METIS's on the same graph, k = 8, 3% imbalance, clouds of
 * equal price (so the plan's cost is the cut): vertices and the bound per family. The bounds are what it
 * reaches here with a margin. The mesh is its weakest family, and the one where the initial partition's
 * shape shows at 100,000 vertices (1.12x gpmetis without recursive bisection, 1.02x with it).
 */
const FAMILIES: [keyof typeof GRAPH_FAMILIES, number, number][] = [
  ['geometric', 20_000, 1.03],
  ['communities', 20_000, 1.03],
  ['mesh', 100_000, 1.06],
];

describe('sky-plan plan --solver multilevel against gpmetis', () => {
  const dir = tempDir();
  for (const [family, n, bound] of FAMILIES)
    it(`${family}, ${n} vertices: the cut is at most ${bound}x gpmetis's, and every cloud within its capacity`, (t) => {
      const room = Math.floor((1.03 * n) / K);
      const spec = join(dir, `${family}.clouds.json`);
      const clouds = Array.from({ length: K }, (_, c) => ({
        name: `c${c}`,
        capacity: { vms: room },
        egress: { default: 0.02 },
      }));
      writeFileSync(spec, JSON.stringify({ clouds }));
      const g = GRAPH_FAMILIES[family](n, 1);
      const metisFile = join(dir, `${family}.metis`);
      writeFileSync(metisFile, metisText(g));
      const metis = spawnSync('gpmetis', ['-ptype=kway', '-ufactor=30', '-seed=1', metisFile, String(K)], {
        encoding: 'utf8',
      });
      assert.equal(metis.status, 0, `gpmetis: ${metis.stderr}${metis.error?.message ?? ''}`);
      const theirs = readFileSync(`${metisFile}.part.${K}`, 'utf8').trim().split('\n').map(Number);
      const graph = join(dir, `${family}.json`);
      writeFileSync(graph, graphJson(g));
      const plan = join(dir, `${family}.plan.json`);
      const r = runCli(['plan', '-g', graph, '-c', spec, '--solver', 'multilevel', '--out', plan]);
      assert.equal(r.status, 0, r.stderr);
      const placement = (JSON.parse(readFileSync(plan, 'utf8')) as { placement: Record<string, string> })
        .placement;
      const ours = Array.from({ length: g.n }, (_, v) => Number(placement[`v${v}`]?.slice(1)));
      const sizes = new Array<number>(K).fill(0);
      for (const c of ours) sizes[c] = (sizes[c] ?? 0) + 1;
      assert.ok(Math.max(...sizes) <= room, `cloud sizes ${sizes.join(' ')}`);
      const ratio = cut(g, ours) / cut(g, theirs);
      t.diagnostic(`cut ${cut(g, ours)}, gpmetis ${cut(g, theirs)}: ${ratio.toFixed(3)}x`);
      assert.ok(
        ratio <= bound,
        `cut ${cut(g, ours)} against gpmetis's ${cut(g, theirs)}: ${ratio.toFixed(3)}x`,
      );
    });
});
