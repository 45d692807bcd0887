import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DedupRoutes } from '../../src/execute/drivers/dedup-tunnel.js';
import type { Cloud } from '../../src/inventory/schema.js';
import { ContentStore } from '../../src/tunnel/content-store.js';
import { StorePicture } from '../../src/tunnel/store-picture.js';
import { tunnelDest } from '../../src/tunnel/tunnel-dest.js';
import { tempDir } from '../helpers.js';
import { numberedPage, ramStream } from '../tunnel/synthetic-stream.js';

const listen = (s: Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)),
  );

let store: ContentStore;
let dest: Server;
let sink: Server;
let clouds: Map<string, Cloud>;

before(async () => {
  const dir = tempDir();
  const psk = randomBytes(32);
  writeFileSync(join(dir, 'key'), psk.toString('hex'));
  store = new ContentStore(join(dir, 'store'), 1e10);
  for (let i = 0; i < 20_000; i++) store.put(numberedPage(i));
  dest = tunnelDest({ psk, store, allowForward: ['127.0.0.1'], log: () => undefined });
  sink = createServer((s) => s.resume());
  const cloud = { name: 'b', tunnel: { dest: `127.0.0.1:${await listen(dest)}`, pskFile: join(dir, 'key') } };
  clouds = new Map([['b', cloud as Cloud]]);
  await listen(sink);
});

after(() => {
  for (const s of [dest, sink]) s.close();
});

/** One migration of 100 stored pages and 100 new ones through a run's routes; its handshake's bytes. */
async function migrateOnce(routes: DedupRoutes, n: number): Promise<number> {
  const tunnel = await routes.open('b', `127.0.0.1:${(sink.address() as { port: number }).port}`, 'precopy');
  const pages = Array.from({ length: 200 }, (_, i) => numberedPage(i < 100 ? i : 100_000 * n + i));
  const qemu = createConnection(tunnel.port, '127.0.0.1', () => qemu.end(ramStream(pages)));
  const report = await tunnel.report;
  tunnel.close();
  assert.equal(report.pagesRef, 100, 'the stored pages crossed as references');
  return report.handshakeBytes;
}

describe('dedup store pictures kept between runs (--dedup-cache)', () => {
  it("a later run's first handshake carries only what changed, not the store", async () => {
    const cache = tempDir();
    const first = await migrateOnce(new DedupRoutes(clouds, cache), 1);
    // A first contact: a filter of the 20,000 pages, 2 bytes each.
    assert.ok(first >= 40_000, `first run: ${first} handshake bytes`);
    const run1 = new DedupRoutes(clouds, cache);
    await migrateOnce(run1, 2);
    run1.save();
    const run2 = new DedupRoutes(clouds, cache);
    const later = await migrateOnce(run2, 3);
    assert.ok(later < 200, `a later run: ${later} handshake bytes`);
    assert.deepEqual(run2.warnings, []);
    // Without the cache, the same later run is a first contact again.
    const uncached = await migrateOnce(new DedupRoutes(clouds), 4);
    assert.ok(uncached >= 40_000, `no cache: ${uncached} handshake bytes`);
  });

  it('a damaged picture is a warning, and the run goes on from an empty one', async () => {
    const cache = tempDir();
    const run1 = new DedupRoutes(clouds, cache);
    await migrateOnce(run1, 5);
    run1.save();
    const file = join(cache, 'b.picture');
    const saved = new StorePicture().toFile();
    writeFileSync(file, saved.subarray(0, saved.length - 3));
    const run2 = new DedupRoutes(clouds, cache);
    const handshake = await migrateOnce(run2, 6);
    assert.ok(handshake >= 40_000, `from an empty picture: ${handshake} handshake bytes`);
    assert.equal(run2.warnings.length, 1);
    assert.match(run2.warnings[0] as string, /b\.picture: .*; starting from an empty picture/);
  });
});
