// @integration: needs root (veths), tcpreplay and nats-server (a 3-node JetStream cluster)
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, runCli, tempDir } from '../helpers.js';
import { Background } from './background.js';
import { NatsCluster } from './servers.js';
import { captureOn, clusterPcap, VethPair } from './veth.js';

const edges = (doc: Pick<GraphDocument, 'edges'>) =>
  new Map(doc.edges.map((e) => [`${e.source}>${e.target}`, [e.bytes, e.packets]]));
const tag = String(process.pid % 10000);

describe('sky-plan capture --to nats:// (root)', () => {
  const dir = tempDir();
  let nats: NatsCluster | undefined;
  let veth: VethPair | undefined;
  after(async () => {
    Background.killAll();
    veth?.remove();
    await nats?.stop();
  });

  it('a live capture publishes its windows to JetStream, and collect --from makes the graph analyze makes of the frames', async () => {
    nats = await NatsCluster.start(join(dir, 'nats'), 3, 'collector', 's3cret-nats');
    const creds = join(dir, 'nats.creds');
    writeFileSync(creds, 'collector:s3cret-nats\n');
    const pcap = clusterPcap(dir);
    const inventory = fixture('cluster', 'inventory.yaml');
    veth = new VethPair(`skn${tag}`, `skm${tag}`);
    const spool = join(dir, 'spool');
    const capture = new Background(
      captureOn(
        veth,
        '--to',
        `${nats.url}/CAPTURE`,
        '--nats-creds',
        creds,
        '--nats-replicas',
        '3',
        '--spool',
        spool,
      ),
    );
    await capture.waitFor(/capturing on/);
    veth.replay(pcap);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await capture.stop('SIGINT'), 0, capture.stderr);

    // Every window the capture closed is in the stream, acknowledged (so none is left in the spool).
    const nc = await connect({
      servers: nats.url.slice('nats://'.length).split(','),
      user: 'collector',
      pass: 's3cret-nats',
    });
    const info = await (await jetstreamManager(nc)).streams.info('CAPTURE');
    await nc.close();
    assert.equal(info.config.num_replicas, 3);
    assert.ok(info.state.messages >= 2, `${info.state.messages} windows in the stream`);
    assert.deepEqual(readdirSync(spool), [], 'the spool keeps nothing once the stream acknowledged it');

    const agg = new Background([
      'collect',
      '--from',
      `${nats.url}/CAPTURE`,
      '--nats-creds',
      creds,
      '--inventory',
      inventory,
      '--window',
      '1s',
      '--duration',
      '10s',
      '--json',
    ]);
    assert.equal(await agg.exit(60_000), 0, agg.stderr);
    const live = JSON.parse(agg.stdout) as GraphDocument;
    const r = runCli(['analyze', pcap, '--inventory', inventory, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const file = JSON.parse(r.stdout) as GraphDocument;
    assert.equal(file.edges.length, 143);
    assert.deepEqual(edges(live), edges(file));
  });
});
