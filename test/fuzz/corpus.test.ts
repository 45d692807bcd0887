import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fixture } from '../helpers.js';
import { check, LIMITS } from './fuzz-loop.js';
import { Finding, type Target } from './target.js';
import { TARGETS } from './targets.js';

const target = (name: string) => TARGETS.find((t) => t.name === name) as Target;

/** The committed crash corpus (fixtures/fuzz/TARGET/) and the outside reproducers (fixtures/repro/). */
function corpus(): [Target, string, Buffer][] {
  const found: [Target, string, Buffer][] = [];
  for (const t of TARGETS) {
    const dir = fixture('fuzz', t.name);
    if (existsSync(dir))
      for (const f of readdirSync(dir)) found.push([t, join(dir, f), readFileSync(join(dir, f))]);
  }
  for (const f of readdirSync(fixture('repro'))) {
    const raw = readFileSync(fixture('repro', f));
    const data = f.endsWith('.gz') ? gunzipSync(raw) : raw;
    const name = f.includes('.pcapng') ? 'pcapng' : f.endsWith('.yaml') ? 'inventory' : undefined;
    if (name !== undefined) found.push([target(name), fixture('repro', f), data]);
  }
  return found;
}

describe('fuzzing: the regression corpus, and the oracles themselves', () => {
  it('every saved input passes every oracle', async () => {
    const inputs = corpus();
    assert.ok(inputs.length >= 4);
    for (const [t, path, input] of inputs)
      assert.equal(await check(t, input), undefined, `${t.name}: ${path}`);
  });

  it('every target takes its own seeds', async () => {
    for (const t of TARGETS) {
      const seeds = t.seeds();
      assert.ok(seeds.length > 0, t.name);
      for (const s of seeds) assert.equal(await check(t, s), undefined, t.name);
    }
  });

  it('the oracles catch a crash, a hang and a wrong user error', async () => {
    const crash: Target = { name: 'x', seeds: () => [], run: async () => JSON.parse('{').x.y };
    assert.match((await check(crash, Buffer.alloc(0))) ?? '', /harness itself failed|SyntaxError/);
    const slow: Target = {
      name: 'x',
      seeds: () => [],
      run: async () => new Promise((resolve) => setTimeout(resolve, LIMITS.inputMs + 100)),
    };
    assert.match((await check(slow, Buffer.alloc(0))) ?? '', /took \d+ ms/);
    const typeError: Target = {
      name: 'x',
      seeds: () => [],
      run: async () => {
        throw new Finding('refused with TypeError');
      },
    };
    assert.match((await check(typeError, Buffer.alloc(0))) ?? '', /TypeError/);
    // A loader's refusal that does not name the file is a finding.
    const graph = target('graph');
    assert.equal(
      await check(graph, Buffer.from('{"schema":"sky-plan/graph@1","nodes":[],"edges":[]}')),
      undefined,
    );
    assert.equal(await check(graph, Buffer.from('not json')), undefined);
  });
});
