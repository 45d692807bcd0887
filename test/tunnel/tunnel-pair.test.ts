import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContentStore, sha256 } from '../../src/tunnel/content-store.js';
import { FRAME, FrameReader, frame, u16 } from '../../src/tunnel/frames.js';
import { PageFilter } from '../../src/tunnel/page-filter.js';
import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';
import { StorePicture } from '../../src/tunnel/store-picture.js';
import { tunnelDest } from '../../src/tunnel/tunnel-dest.js';
import { type SessionCounters, tunnelSource } from '../../src/tunnel/tunnel-source.js';
import { tempDir } from '../helpers.js';
import { connectWithKey } from './psk-client.js';
import { numberedPage, ramStream } from './synthetic-stream.js';

const psk = randomBytes(32);
const events: Record<string, unknown>[] = [];
let dest: Server;
let store: ContentStore;
let source: Server;
let sink: Server;
const received: Buffer[] = [];
let onSinkClose: () => void = () => undefined;

const port = (s: Server) => (s.address() as { port: number }).port;
const listen = (s: Server) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));

before(async () => {
  // Stands in for the destination QEMU's -incoming socket: it records what the tunnel delivers.
  sink = createServer((s) => {
    s.on('data', (d: Buffer) => received.push(d));
    s.on('close', () => onSinkClose());
  });
  await listen(sink);
  store = new ContentStore(join(tempDir(), 'store'), 1e9);
  dest = tunnelDest({
    psk,
    store,
    allowForward: ['127.0.0.1'],
    log: (e) => events.push(e),
  });
  await listen(dest);
  source = tunnelSource({
    psk,
    dest: { host: '127.0.0.1', port: port(dest) },
    forward: `127.0.0.1:${port(sink)}`,
    log: (e) => events.push(e),
  });
  await listen(source);
});

after(() => {
  for (const s of [source, dest, sink]) s.close();
});

const connectAsSource = () => connectWithKey(port(dest), psk);

function delivered(): Promise<void> {
  return new Promise((resolve) => {
    onSinkClose = resolve;
  });
}

describe('tunnel pair (in process)', () => {
  it('forwards a stream the parser cannot read unchanged, and the transfer completes', async () => {
    received.length = 0;
    const finished = delivered();
    const junk = randomBytes(300_000);
    const qemu = createConnection(port(source), '127.0.0.1', () => qemu.end(junk));
    await finished;
    assert.ok(Buffer.concat(received).equals(junk));
    // The source proxy's report (the destination's has no parser, hence no passthrough field).
    const report = () => events.find((e) => e.event === 'done' && 'passthrough' in e);
    for (let i = 0; i < 40 && report() === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    const done = report() as { passthrough: unknown };
    assert.deepEqual(done.passthrough, {
      offset: 0,
      reason: 'not a QEMU migration stream (no QEVM magic)',
      ramEnded: false,
    });
  });

  it('tells the source about a store larger than one frame', async () => {
    for (let i = 0; i < 40_000; i++) {
      const p = Buffer.alloc(PAGE_SIZE);
      p.writeUInt32BE(i);
      store.put(p);
    }
    received.length = 0;
    const finished = delivered();
    const qemu = createConnection(port(source), '127.0.0.1', () => qemu.end(Buffer.from('x')));
    await finished;
    const session = events.filter((e) => e.event === 'session' && 'known' in e).at(-1) as { known: number };
    assert.ok(session.known >= 40_000, `the source knows ${session.known} pages`);
  });

  it('tells a source it has talked to before only of the pages stored since (the handshake scales with the change)', async () => {
    const reports = () => events.filter((e) => e.event === 'done' && 'handshakeBytes' in e).length;
    let runs = reports();
    const session = async () => {
      received.length = 0;
      const finished = delivered();
      const qemu = createConnection(port(source), '127.0.0.1', () => qemu.end(Buffer.from('x')));
      await finished;
      // The next session's picture depends on this one's DONE: wait for the source to have it.
      for (let i = 0; i < 40 && reports() < runs + 1; i++) await new Promise((r) => setTimeout(r, 50));
      runs++;
      return events.filter((e) => e.event === 'session' && 'handshakeBytes' in e).at(-1) as {
        known: number;
        handshakeBytes: number;
      };
    };
    await session(); // brings the picture up to date with the 40,000 pages above
    const again = await session();
    assert.ok(again.known >= 40_000);
    assert.ok(again.handshakeBytes < 100, `nothing changed: ${again.handshakeBytes} handshake bytes`);
    for (let i = 0; i < 1000; i++) store.put(numberedPage(1_000_000 + i));
    const grown = await session();
    assert.ok(grown.known >= 41_000);
    assert.ok(
      grown.handshakeBytes >= 1000 * 32 && grown.handshakeBytes < 1000 * 32 + 200,
      `1,000 new pages: ${grown.handshakeBytes} bytes, not the whole store's ${store.pages * 32}`,
    );
  });

  /** One migration of `stream` through a new source proxy (a first contact, unless `picture` says). */
  async function migrate(stream: Buffer, picture?: StorePicture) {
    const log: Record<string, unknown>[] = [];
    const src = tunnelSource({
      psk,
      dest: { host: '127.0.0.1', port: port(dest) },
      forward: `127.0.0.1:${port(sink)}`,
      ...(picture === undefined ? {} : { picture }),
      log: (e) => log.push(e),
    });
    await listen(src);
    received.length = 0;
    const finished = delivered();
    const qemu = createConnection(port(src), '127.0.0.1', () => qemu.end(stream));
    await finished;
    for (let i = 0; i < 40 && !log.some((e) => e.event === 'done'); i++)
      await new Promise((r) => setTimeout(r, 50));
    src.close();
    return log.find((e) => e.event === 'done') as unknown as SessionCounters;
  }

  it('tells a first contact with a large store of it by a filter, 2 bytes a page, and the stream is rebuilt exactly', async () => {
    // Half of the pages are in the store (stored above), half are new.
    const stream = ramStream(
      Array.from({ length: 2000 }, (_, i) => numberedPage(i < 1000 ? 1_000_000 + i : 3_000_000 + i)),
    );
    const pages = store.pages;
    const done = await migrate(stream);
    assert.ok(Buffer.concat(received).equals(stream), 'the stream came out byte for byte');
    assert.ok(
      done.handshakeBytes >= pages * 2 && done.handshakeBytes < pages * 2 + 200,
      `${done.handshakeBytes} handshake bytes for a store of ${pages} pages (the hashes: ${pages * 32})`,
    );
    assert.ok(done.pagesRef >= 1000, `${done.pagesRef} pages crossed as references`);
    assert.ok(done.pagesNew >= 1000 - done.recovered, `${done.pagesNew} new pages`);
  });

  it('a page the filter claims wrongly is asked for again and delivered', async () => {
    // A filter with every bit set claims every page: each new page is a false positive.
    const picture = new StorePicture();
    picture.setEpoch(store.epoch);
    picture.advance(store.generation);
    picture.filter = new PageFilter([
      { index: 0, count: 1, entries: 1, probes: 3, bits: Buffer.alloc(8, 0xff) },
    ]);
    const stream = ramStream(Array.from({ length: 50 }, (_, i) => numberedPage(4_000_000 + i)));
    const done = await migrate(stream, picture);
    assert.ok(Buffer.concat(received).equals(stream), 'the stream came out byte for byte');
    assert.equal(done.recovered, 50);
  });

  it('rejects a page whose content does not match its hash, and cuts the stream', async () => {
    received.length = 0;
    const done = delivered();
    const reply: { type: number; payload: Buffer }[] = [];
    const tls = connectAsSource();
    const reader = new FrameReader((type, payload) => {
      reply.push({ type, payload: Buffer.from(payload) });
      if (type === FRAME.READY) {
        // A reference to a page the destination lacks: it asks for it; we answer with other content.
        const wanted = Buffer.alloc(PAGE_SIZE, 7);
        tls.write(frame(FRAME.REF, u16(8), Buffer.alloc(8), sha256(wanted)));
      }
      if (type === FRAME.NACK) tls.write(frame(FRAME.DATA, payload, Buffer.alloc(PAGE_SIZE, 8)));
    });
    tls.on('data', (d: Buffer) => reader.push(d));
    tls.on('secureConnect', () =>
      tls.write(
        frame(
          FRAME.HELLO,
          Buffer.from(JSON.stringify({ version: 1, session: 'tamper', forward: `127.0.0.1:${port(sink)}` })),
        ),
      ),
    );
    await new Promise((resolve) => tls.on('close', resolve));
    await done;
    // The store is large by now: a first contact is told of it by a filter.
    assert.equal(reply[0]?.type, FRAME.FILTER);
    assert.deepEqual(
      reply.map((r) => r.type).filter((t) => t !== FRAME.FILTER),
      [FRAME.READY, FRAME.NACK, FRAME.ERROR],
    );
    assert.match(reply.at(-1)?.payload.toString() ?? '', /does not match its hash/);
    assert.equal(Buffer.concat(received).length, 0, 'nothing of the tampered page reached QEMU');
  });

  it('ends the session when the destination hung up while the link waited for it (an NBD server stopped)', async () => {
    // The far end stops reading, so the destination proxy pauses the link for it, then hangs up: as
    // QEMU's NBD server does on nbd-server-stop with writes still queued.
    const closer = createServer((s) => {
      s.pause();
      setTimeout(() => s.destroy(), 500);
    });
    await listen(closer);
    const log: Record<string, unknown>[] = [];
    const early = tunnelSource({
      psk,
      dest: { host: '127.0.0.1', port: port(dest) },
      forward: `127.0.0.1:${port(closer)}`,
      protocol: 'nbd',
      log: (e) => log.push(e),
    });
    await listen(early);
    try {
      const client = createConnection(port(early), '127.0.0.1');
      client.on('error', () => undefined); // the proxy may cut it: the far end is gone
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      client.end(Buffer.alloc(32 << 20, 7));
      for (let i = 0; i < 100 && !log.some((e) => e.event === 'done' || e.event === 'failed'); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        log.some((e) => e.event === 'done' || e.event === 'failed'),
        `the session ended, one way or the other: ${JSON.stringify(log.map((e) => e.event))}`,
      );
    } finally {
      early.close();
      closer.close();
    }
  });

  it('refuses to forward to a host that is not allowed', async () => {
    const tls = connectAsSource();
    const reply: Buffer[] = [];
    tls.on('data', (d: Buffer) => reply.push(d));
    tls.on('secureConnect', () =>
      tls.write(
        frame(FRAME.HELLO, Buffer.from(JSON.stringify({ version: 1, session: 'x', forward: '10.1.2.3:22' }))),
      ),
    );
    await new Promise((resolve) => tls.on('close', resolve));
    assert.match(Buffer.concat(reply).toString('latin1'), /forwarding to 10\.1\.2\.3:22 is not allowed/);
  });

  it('several migrations at once through one pair share the store and are each rebuilt exactly', async () => {
    // Two sinks (two destination QEMUs), two source proxies into the one destination proxy.
    const streams = [0, 1].map((v) =>
      ramStream(
        Array.from({ length: 600 }, (_, i) =>
          numberedPage(i < 400 ? 1_000_000 + i : 2_000_000 + v * 1000 + i),
        ),
      ),
    );
    const got: Buffer[][] = [[], []];
    const closed: Promise<void>[] = [];
    const sinks = await Promise.all(
      [0, 1].map(async (v) => {
        let done: () => void = () => undefined;
        closed.push(
          new Promise((resolve) => {
            done = resolve;
          }),
        );
        const s = createServer((c) => {
          c.on('data', (d: Buffer) => got[v]?.push(d));
          c.on('close', () => done());
        });
        await listen(s);
        return s;
      }),
    );
    const sources = await Promise.all(
      sinks.map(async (s) => {
        const src = tunnelSource({
          psk,
          dest: { host: '127.0.0.1', port: port(dest) },
          forward: `127.0.0.1:${port(s)}`,
          log: (e) => events.push(e),
        });
        await listen(src);
        return src;
      }),
    );
    const before = events.length;
    sources.forEach((src, v) => {
      const qemu = createConnection(port(src), '127.0.0.1', () => {
        // Written in pieces, interleaved with the other migration.
        const data = streams[v] as Buffer;
        let at = 0;
        const next = () => {
          if (at >= data.length) return qemu.end();
          qemu.write(data.subarray(at, at + 50_000));
          at += 50_000;
          setImmediate(next);
        };
        next();
      });
    });
    await Promise.all(closed);
    for (const v of [0, 1])
      assert.ok(
        Buffer.concat(got[v] as Buffer[]).equals(streams[v] as Buffer),
        `migration ${v} rebuilt exactly`,
      );
    for (
      let i = 0;
      i < 40 && events.slice(before).filter((e) => e.event === 'done' && 'passthrough' in e).length < 2;
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
    const reports = events.slice(before).filter((e) => e.event === 'done' && 'passthrough' in e) as {
      pagesNew: number;
      pagesRef: number;
    }[];
    assert.equal(reports.length, 2);
    // The 400 common pages crossed as content at most twice (both may send them before either lands), never more.
    assert.ok(reports.reduce((s, r) => s + r.pagesNew, 0) <= 400 * 2 + 200 * 2);
    assert.ok(store.has(sha256(numberedPage(1_000_000))) && store.has(sha256(numberedPage(2_001_599))));
    // A third migration of the same content now crosses as references only.
    const sourceReports = () => events.filter((e) => e.event === 'done' && 'passthrough' in e);
    const seen = sourceReports().length;
    const qemu = createConnection(port(sources[0] as Server), '127.0.0.1', () =>
      qemu.end(streams[1] as Buffer),
    );
    for (let i = 0; i < 100 && sourceReports().length === seen; i++)
      await new Promise((r) => setTimeout(r, 50));
    const third = sourceReports().at(-1) as Record<string, unknown>;
    assert.equal(third.pagesNew, 0);
    assert.equal(third.pagesRef, 600);
    for (const s of [...sources, ...sinks]) s.close();
  });
});
