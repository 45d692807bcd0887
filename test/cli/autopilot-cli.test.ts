import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CLI, fixture, runCli, tempDir } from '../helpers.js';

const inventory = fixture('cluster', 'inventory.yaml');
let graph: string;

before(() => {
  graph = join(tempDir(), 'graph.json');
  const r = runCli([
    'analyze',
    fixture('cluster', 'cluster.pcap.gz'),
    '-i',
    inventory,
    '--window',
    '10s',
    '--out',
    graph,
  ]);
  assert.equal(r.status, 0, r.stderr);
});

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** One dry-run round on the bundled cluster's graph, at its end. */
const replay = (...extra: string[]) =>
  runCli(['autopilot', '-g', graph, '-c', inventory, '--dry-run', '--once', '--now', 'end', ...extra]);

describe('sky-plan autopilot', () => {
  it('--dry-run --once decides on the window ending at the graph, logs why, and moves nothing', () => {
    const dir = tempDir();
    const state = join(dir, 'state.json');
    const r = replay('--window', '5m', '--state', state);
    assert.equal(r.status, 0, r.stderr);
    const [d] = lines(r.stdout);
    assert.equal(d?.trigger, 'start');
    assert.equal(d?.action, 'move');
    assert.match(String(d?.reason), /exceeds migrations .* by more than 25% \+ \$1/);
    assert.ok(((d?.moves ?? []) as unknown[]).length > 0);
    assert.equal(d?.dryRun, true);
    // Nothing moved: a dry run records no move, only that it decided.
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    assert.deepEqual(saved.history, []);
    assert.equal(saved.lastRound, d?.time);
    // A margin no saving reaches: the same round holds, and says why.
    const held = replay('--window', '5m', '--state', join(dir, 's2.json'), '--margin', '100');
    assert.equal(held.status, 0, held.stderr);
    assert.equal(lines(held.stdout)[0]?.action, 'hold');
  });

  it('refuses to run without a driver or --dry-run, a bad event with its file and line, an event naming no VM', () => {
    const none = runCli(['autopilot', '-g', graph, '-c', inventory, '--once']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /give --driver qmp\|libvirt, or --dry-run/);
    const dir = tempDir();
    mkdirSync(join(dir, 'events'));
    writeFileSync(
      join(dir, 'events', 'a.jsonl'),
      '{"type":"pin","time":1,"vm":"mr-map3"}\n{"type":"price","time":"yesterday","cloud":"rennes"}\n',
    );
    const bad = replay('--events', join(dir, 'events'), '--state', join(dir, 's.json'));
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /events[/\\]a\.jsonl:2: time: /);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
    writeFileSync(
      join(dir, 'events', 'a.jsonl'),
      '{"type":"terminate","time":1,"vm":"nobody","deadline":100}\n',
    );
    const unknown = replay('--events', join(dir, 'events'), '--state', join(dir, 's.json'));
    const nowhere = replay('--log', join(dir, 'missing', 'log.jsonl'));
    assert.equal(nowhere.status, 2);
    assert.match(nowhere.stderr, /--log: the directory .*missing does not exist/);
    assert.equal(unknown.status, 3);
    assert.match(unknown.stderr, /VM "nobody"/);
  });

  it('a termination notice that falls due starts a round at once, serves its metrics, and SIGTERM ends it with exit 0', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'events'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'autopilot',
        '-g',
        graph,
        '-c',
        inventory,
        '--dry-run',
        '--period',
        '1h',
        '--events',
        join(dir, 'events'),
        '--state',
        join(dir, 's.json'),
        '--log',
        join(dir, 'log.jsonl'),
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const log = () =>
      existsSync(join(dir, 'log.jsonl')) ? lines(readFileSync(join(dir, 'log.jsonl'), 'utf8')) : [];
    const waitFor = async (what: () => boolean, label: string) => {
      for (let i = 0; i < 150 && !what(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(what(), `${label}; stderr: ${stderr}`);
    };
    try {
      await waitFor(() => log().length === 1, 'the first round');
      const now = Date.now() / 1000;
      writeFileSync(
        join(dir, 'events', 'spot.json'),
        JSON.stringify({ type: 'terminate', time: now, vm: 'cfd-0-0', deadline: now + 600 }),
      );
      await waitFor(() => log().length === 2, 'a round for the notice, long before the hour');
      const d = log()[1];
      assert.equal(d?.trigger, 'event:terminate');
      assert.equal(d?.action, 'evacuate');
      assert.deepEqual(
        ((d?.moves ?? []) as { vm: string }[]).map((m) => m.vm),
        ['cfd-0-0'],
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /skyplan_autopilot_rounds_total\{action="evacuate"\} 1/);
      assert.match(metrics, /skyplan_autopilot_decision_seconds \d/);
      const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as {
        decision: { action: string };
      };
      assert.equal(status.decision.action, 'evacuate');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
