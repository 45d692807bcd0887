import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixture, runCli } from './helpers.js';

describe('sky-plan as a library (package exports)', () => {
  it('analyze → plan → schedule through the API gives what the commands give', async () => {
    // By the package's own name: this goes through package.json "exports", as a program's import would.
    const api = await import('sky-plan');
    const capture = fixture('cluster', 'cluster.pcap.gz');
    const inventoryPath = fixture('cluster', 'inventory.yaml');
    const inventory = await api.loadInventory(inventoryPath);
    const analysis = await api.analyzeCaptures([{ path: capture }], { inventory });
    const graph = api.graphDocument(analysis);
    const cli = runCli(['analyze', capture, '-i', inventoryPath, '--json']);
    assert.equal(cli.status, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout) as typeof graph;
    assert.deepEqual(
      graph.edges.map((e) => [e.source, e.target, e.bytes]),
      fromCli.edges.map((e) => [e.source, e.target, e.bytes]),
    );
    const plan = await api.planCluster(graph, inventory, {
      ...api.PLAN_DEFAULTS,
      solver: 'multilevel',
      seed: 1,
      timeLimitSeconds: 10,
    });
    assert.equal(plan.schema, 'sky-plan/plan@1');
    assert.ok(plan.moves.length > 0);
    const waves = api.schedule(api.scheduleInput(plan, api.CONCURRENCY_DEFAULTS));
    assert.deepEqual(
      waves.flatMap((w) => w.migrations.map((m) => m.vm)).sort(),
      plan.moves.map((m) => m.vm).sort(),
      'every move is scheduled once',
    );
  });
});
