// @integration: needs nats-server (a 3-node JetStream cluster) and clickhouse-server, and about 3 minutes
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { WindowDocument } from '../../capture/window-document.js';
import { natsDeliverer } from '../../src/collect/nats-sink.js';
import { parseNatsUrl } from '../../src/collect/nats-target.js';
import { SpoolSink } from '../../src/collect/spool-sink.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { runCli, tempDir } from '../helpers.js';
import { Background } from './background.js';
import { ClickHouseServer, NatsCluster } from './servers.js';
import { clusterWindows } from './synthetic-windows.js';

describe('scale-out: collectors → NATS JetStream → aggregator replicas → ClickHouse → graph', () => {
  const dir = tempDir(tmpdir());
  const { windows, inventory } = clusterWindows({
    hosts: 6,
    vmsPerHost: 5,
    flowsPerWindow: 150,
    windows: 12,
    seed: 7,
  });
  const files = {
    inventory: join(dir, 'inventory.json'),
    windows: join(dir, 'windows.ndjson'),
    natsCreds: join(dir, 'nats.creds'),
    chPassword: join(dir, 'ch.password'),
  };
  let nats: NatsCluster;
  let clickhouse: ClickHouseServer;
  /** What the single process makes of the same windows: the reference every path must equal. */
  let single: GraphDocument;

  before(async () => {
    writeFileSync(files.inventory, JSON.stringify(inventory));
    writeFileSync(files.windows, `${windows.map((w) => JSON.stringify(w)).join('\n')}\n`);
    writeFileSync(files.natsCreds, 'collector:s3cret-nats\n');
    writeFileSync(files.chPassword, 's3cret-ch\n');
    nats = await NatsCluster.start(join(dir, 'nats'), 3, 'collector', 's3cret-nats');
    clickhouse = await ClickHouseServer.start(join(dir, 'clickhouse'), 's3cret-ch');
    const r = runCli(['collect', files.windows, '--inventory', files.inventory, '--json']);
    assert.equal(r.status, 0, r.stderr);
    single = JSON.parse(r.stdout) as GraphDocument;
    assert.ok(single.edges.length > 50);
  });

  after(async () => {
    Background.killAll();
    await nats?.stop();
    await clickhouse?.stop();
  });

  const storeUrl = (db: string) => `clickhouse://default@127.0.0.1:${clickhouse.httpPort}/${db}`;
  const replica = (db: string, stream: string, extra: string[] = []) =>
    new Background([
      'collect',
      '--from',
      `${nats.url}/${stream}`,
      '--nats-creds',
      files.natsCreds,
      '--store',
      storeUrl(db),
      '--clickhouse-password-file',
      files.chPassword,
      '--inventory',
      files.inventory,
      '--batch',
      '16',
      ...extra,
    ]);
  const publisher = (name: string, stream: string, warn: (text: string) => void = () => undefined) =>
    new SpoolSink(
      natsDeliverer(
        { ...parseNatsUrl(`${nats.url}/${stream}`, 'test'), credentialsFile: files.natsCreds },
        { replicas: 3, maxAgeSeconds: 3600 },
        name,
      ),
      join(dir, `spool-${name}`),
      warn,
    );
  async function publish(stream: string, docs: WindowDocument[]): Promise<void> {
    const sink = publisher(`p-${stream}-${docs[0]?.id}`, stream);
    for (const d of docs) sink.write(d);
    await sink.drain(60_000);
    assert.equal(sink.pending, 0, 'every window acknowledged by the stream');
    await sink.close();
  }
  async function storedWindows(db: string): Promise<number> {
    return Number((await clickhouse.query(`SELECT uniqExact(id) FROM ${db}.sky_windows`)).trim() || 0);
  }
  async function waitStored(db: string, n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await storedWindows(db).catch(() => -1);
      if (got === n) return;
      assert.ok(got < n, `${got} windows stored, more than the ${n} published`);
      if (Date.now() > deadline) throw new Error(`${got} of ${n} windows stored in time`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  function graphOf(db: string, extra: string[] = []): GraphDocument {
    const r = runCli([
      'graph',
      '--from',
      storeUrl(db),
      '--clickhouse-password-file',
      files.chPassword,
      '--inventory',
      files.inventory,
      '--json',
      ...extra,
    ]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as GraphDocument;
  }
  const took = (b: Background) => Number(/took (\d+) windows/.exec(b.stdout)?.[1] ?? Number.NaN);

  it('two replicas share the windows, a NATS node is killed meanwhile, and the graph equals collect', async () => {
    const stream = 'SHARE';
    const a = replica('share', stream);
    const b = replica('share', stream);
    await a.waitFor(/consuming stream/);
    await b.waitFor(/consuming stream/);
    // Small bursts while both wait on the stream, so that each replica's pull request gets some.
    const bursts = async (docs: WindowDocument[]) => {
      for (let i = 0; i < docs.length; i += 6) {
        await publish(stream, docs.slice(i, i + 6));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await bursts(windows.slice(0, windows.length / 2));
    await nats.killNode(0);
    await bursts(windows.slice(windows.length / 2));
    const nc = await connect({
      servers: nats.clientPorts.slice(1).map((p) => `127.0.0.1:${p}`),
      user: nats.user,
      pass: nats.password,
    });
    for (const w of windows.slice(0, 10))
      await jetstream(nc).publish(`${stream}.w.${w.collector}`, JSON.stringify(w));
    await nc.close();
    await waitStored('share', windows.length);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await a.stop(), 0, a.stderr);
    assert.equal(await b.stop(), 0, b.stderr);
    await nats.startNode(0);
    // At least once each (a window whose acknowledgement died with the node comes again); stored once.
    assert.ok(took(a) + took(b) >= windows.length + 10, `${a.stdout}${b.stdout}`);
    assert.ok(took(a) > 0 && took(b) > 0, 'both replicas took windows');
    const graph = graphOf('share');
    assert.deepEqual(graph.edges, single.edges);
    // Nodes are listed in the order the windows first named them, which a resend can change.
    const byId = (nodes: GraphDocument['nodes']) => [...nodes].sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(byId(graph.nodes), byId(single.nodes));
    assert.deepEqual(graph.summary.cloudPairs, single.summary.cloudPairs);
    // Two replicas inserting one window at once (an original and its resend) both feed the rollups: they
    // lose nothing, and may count such a window twice (README: what 18.16 lacks).
    const total = single.edges.reduce((sum, e) => sum + e.bytes, 0);
    for (const table of ['sky_pairs_1m', 'sky_pairs_1h'])
      assert.ok(Number(await clickhouse.query(`SELECT sum(bytes) FROM share.${table}`)) >= total, table);
  });

  it('collect --from keeps the in-memory graph of the whole stream, resends counted once', async () => {
    // The SHARE stream holds every window and 10 resends; this aggregator has a consumer of its own.
    const agg = new Background([
      'collect',
      '--from',
      `${nats.url}/SHARE`,
      '--nats-creds',
      files.natsCreds,
      '--inventory',
      files.inventory,
      '--duration',
      '15s',
      '--json',
    ]);
    assert.equal(await agg.exit(60_000), 0, agg.stderr);
    const graph = JSON.parse(agg.stdout) as GraphDocument;
    assert.deepEqual(graph.edges, single.edges);
    assert.deepEqual(graph.summary.cloudPairs, single.summary.cloudPairs);
  });

  it('ClickHouse down for a minute: windows wait in the stream, then land', async () => {
    const stream = 'OUTAGE';
    const worker = replica('outage', stream);
    await publish(stream, windows.slice(0, 12));
    await waitStored('outage', 12);
    await clickhouse.kill();
    await publish(stream, windows.slice(12));
    await worker.waitFor(/windows not taken \(.*\); they wait in the stream/, 30_000);
    await new Promise((r) => setTimeout(r, 60_000));
    await clickhouse.resume();
    await waitStored('outage', windows.length);
    assert.equal(await worker.stop(), 0, worker.stderr);
    assert.deepEqual(graphOf('outage').edges, single.edges);
    // One replica, no insert cut short: the 1-minute and 1-hour rollups hold each directed byte once.
    const total = single.edges.reduce((sum, e) => sum + e.bytes, 0);
    for (const table of ['sky_pairs_1m', 'sky_pairs_1h'])
      assert.equal(Number(await clickhouse.query(`SELECT sum(bytes) FROM outage.${table}`)), total, table);
  });

  it('an aggregator killed with SIGKILL mid-stream and restarted: the graph equals collect', async () => {
    const stream = 'CRASH';
    await publish(stream, windows);
    const first = replica('crash', stream, ['--batch', '4']);
    await first.waitFor(/consuming stream/);
    const deadline = Date.now() + 60_000;
    while ((await storedWindows('crash').catch(() => 0)) < 8 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    first.proc.kill('SIGKILL');
    const stored = await storedWindows('crash');
    assert.ok(stored > 0 && stored < windows.length, `killed after ${stored} windows`);
    const second = replica('crash', stream);
    await waitStored('crash', windows.length);
    assert.equal(await second.stop(), 0, second.stderr);
    assert.deepEqual(graphOf('crash').edges, single.edges);
  });

  it('graph --since/--until picks a range and --stat its per-window statistic', () => {
    const seconds = windows[0]?.window.seconds as number;
    const firstStart = (windows[0]?.window.index as number) * seconds;
    const iso = (t: number) => new Date(t * 1000).toISOString();
    // The last 4 windows of 12, from ClickHouse and from the NDJSON file (the embedded history): the same.
    const range = ['--since', iso(firstStart + 8 * seconds), '--until', iso(firstStart + 12 * seconds)];
    const fromStore = graphOf('share', range);
    const r = runCli(['graph', '--from', files.windows, '--inventory', files.inventory, '--json', ...range]);
    assert.equal(r.status, 0, r.stderr);
    const fromFile = JSON.parse(r.stdout) as GraphDocument;
    assert.deepEqual(fromStore.edges, fromFile.edges);
    const last4 = join(dir, 'last4.ndjson');
    const inRange = windows.filter((w) => w.window.index * seconds >= firstStart + 8 * seconds);
    assert.equal(inRange.length, 4 * 6);
    writeFileSync(last4, `${inRange.map((w) => JSON.stringify(w)).join('\n')}\n`);
    const c = runCli(['collect', last4, '--inventory', files.inventory, '--json']);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(fromStore.edges, (JSON.parse(c.stdout) as GraphDocument).edges);
    const p95 = graphOf('share', ['--stat', 'p95']);
    const e = p95.edges[0];
    assert.equal(e?.bytesPerSecond, e?.windows?.p95BytesPerSecond);
    assert.notEqual(e?.bytesPerSecond, single.edges[0]?.bytesPerSecond);
  });

  it("sets a window above the servers' max_payload aside with the reason, and the next one still goes", async () => {
    const [wide] = clusterWindows({
      hosts: 1,
      vmsPerHost: 20,
      flowsPerWindow: 60_000,
      windows: 1,
      seed: 3,
    }).windows;
    const big = { ...(wide as WindowDocument), id: 'big/1/0', collector: 'big' };
    assert.ok(JSON.stringify(big).length > 1 << 20, 'above the default max_payload of 1 MB');
    const warnings: string[] = [];
    const sink = publisher('big', 'BIG', (t) => warnings.push(t));
    sink.write(big);
    sink.write(windows[0] as WindowDocument);
    await sink.drain(60_000);
    assert.equal(sink.pending, 0);
    await sink.close();
    assert.match(
      warnings.join('\n'),
      /refused window big-1-0+\.json \(\d+ bytes, above the servers' max_payload of 1048576/,
    );
    assert.deepEqual(readdirSync(join(dir, 'spool-big', 'refused')), ['big-1-000000000000.json']);
    const nc = await connect({
      servers: nats.clientPorts.slice(1).map((p) => `127.0.0.1:${p}`),
      user: nats.user,
      pass: nats.password,
    });
    const info = await (await jetstreamManager(nc)).streams.info('BIG');
    await nc.close();
    assert.equal(info.state.messages, 1, 'the small window is in the stream');
  });

  it('refuses a password in a URL and says when a store cannot be reached', () => {
    const inUrl = runCli(['graph', '--from', `clickhouse://default:pw@127.0.0.1:${clickhouse.httpPort}`]);
    assert.equal(inUrl.status, 2);
    assert.match(inUrl.stderr, /holds a password; put it in a file/);
    const wrong = join(dir, 'wrong.password');
    writeFileSync(wrong, 'nope\n');
    const denied = runCli(['graph', '--from', storeUrl('share'), '--clickhouse-password-file', wrong]);
    assert.equal(denied.status, 3, denied.stderr);
    assert.match(denied.stderr, /cannot use ClickHouse at .*(password|Authentication)/i);
    assert.doesNotMatch(denied.stderr, /\n\s+at /);
  });

  it('a replica started while JetStream has no quorum waits for it instead of failing', async () => {
    await nats.killNode(1);
    await nats.killNode(2);
    const early = replica('quorum', 'QUORUM');
    await early.waitFor(/JetStream not ready \(.*\); retrying/, 30_000);
    await nats.startNode(1);
    await nats.startNode(2);
    await early.waitFor(/consuming stream QUORUM/, 60_000);
    assert.equal(await early.stop(), 0, early.stderr);
    assert.doesNotMatch(early.stderr, /internal error/);
  });
});
