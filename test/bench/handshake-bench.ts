import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ContentStore, hashKey } from '../../src/tunnel/content-store.js';
import { buildFilter, PageFilter } from '../../src/tunnel/page-filter.js';
import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';
import { tunnelDest } from '../../src/tunnel/tunnel-dest.js';
import { type SessionCounters, tunnelSource } from '../../src/tunnel/tunnel-source.js';
import { tempDir } from '../helpers.js';
import { numberedPage, ramStream } from '../tunnel/synthetic-stream.js';

/**
 * `npm run bench:handshake`: the store handshake of a source's first contact with a site (a new executor
 * run), against the hash list it replaces and what deduplication then saves. In process, real store and
 * proxies on loopback; one migration of a 128 MiB guest's worth of pages, a share of them already stored.
 * Then the filter of a store at the default limit (8 GiB), built in memory: its size and its measured
 * false-positive rate.
 */
const psk = randomBytes(32);
const listen = (s: Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)),
  );
const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;

async function firstContact(storePages: number, vmPages: number, storedShare: number) {
  const store = new ContentStore(join(tempDir(), 'store'), 64 * 2 ** 30);
  for (let i = 0; i < storePages; i++) store.put(numberedPage(i));
  const sink = createServer((s) => s.resume());
  const dest = tunnelDest({ psk, store, allowForward: ['127.0.0.1'], log: () => undefined });
  let done: (c: SessionCounters) => void = () => undefined;
  const finished = new Promise<SessionCounters>((resolve) => {
    done = resolve;
  });
  const source = tunnelSource({
    psk,
    dest: { host: '127.0.0.1', port: await listen(dest) },
    forward: `127.0.0.1:${await listen(sink)}`,
    log: (e) => {
      if (e.event === 'done' && 'handshakeBytes' in e) done(e as unknown as SessionCounters);
    },
  });
  const stored = Math.round(vmPages * storedShare);
  // Stored pages spread over the store, the rest new.
  const pages = Array.from({ length: vmPages }, (_, i) =>
    numberedPage(i < stored ? Math.floor((i * storePages) / stored) : 50_000_000 + i),
  );
  const qemu = createConnection(await listen(source), '127.0.0.1', () => qemu.end(ramStream(pages)));
  const c = await finished;
  for (const s of [source, dest, sink]) s.close();
  store.close();
  return { ...c, hashList: storePages * 32, saved: c.pagesRef * PAGE_SIZE };
}

process.stdout.write(
  'First contact with a site: store handshake against the hash list and against what deduplication saves\n' +
    '(one migration of 32,768 pages, 128 MiB; target: handshake under 1% of the bytes saved)\n',
);
for (const storePages of [25_600, 262_144])
  for (const share of [0.1, 0.5]) {
    const r = await firstContact(storePages, 32_768, share);
    process.stdout.write(
      `  store ${storePages} pages (${mb(storePages * PAGE_SIZE)}), ${share * 100}% of the VM's pages stored: ` +
        `handshake ${mb(r.handshakeBytes)} (hash list ${mb(r.hashList)}, ${(r.hashList / r.handshakeBytes).toFixed(1)}x more); ` +
        `saved ${mb(r.saved)}; handshake ${((100 * r.handshakeBytes) / r.saved).toFixed(2)}% of saved; ` +
        `${r.recovered} pages claimed wrongly and asked for again\n`,
    );
  }

{
  const pages = 2_097_152; // 8 GiB of 4 KiB pages, the store's default limit
  const keys = Array.from({ length: pages }, () => hashKey(randomBytes(32)));
  const t = performance.now();
  const shards = buildFilter(keys);
  const built = (performance.now() - t) / 1000;
  const filter = new PageFilter(shards);
  const probes = 2_000_000;
  let wrong = 0;
  for (let i = 0; i < probes; i++) if (filter.has(hashKey(randomBytes(32)))) wrong++;
  // Each frame: 5 bytes of header, the 33 of the epoch, 13 of the shard's own.
  const bytes = shards.reduce((s, x) => s + x.bits.length + 51, 0);
  process.stdout.write(
    `\nA store at its 8 GiB default (${pages} pages): filter ${mb(bytes)} in ${shards.length} frames, built in ${built.toFixed(2)} s, ` +
      `against ${mb(pages * 32)} of hashes (${((pages * 32) / bytes).toFixed(1)}x); ` +
      `false positives ${wrong} of ${probes} (${(wrong / probes).toExponential(2)}, stated 4.6e-4)\n`,
  );
}
process.exit(0);
