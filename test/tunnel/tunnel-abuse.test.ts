import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as tlsServer } from 'node:tls';
import { ContentStore } from '../../src/tunnel/content-store.js';
import { FRAME, frame } from '../../src/tunnel/frames.js';
import { PSK_CIPHERS } from '../../src/tunnel/psk.js';
import { tunnelDest } from '../../src/tunnel/tunnel-dest.js';
import { tunnelSource } from '../../src/tunnel/tunnel-source.js';
import { tempDir } from '../helpers.js';
import { connectWithKey } from './psk-client.js';
import { numberedPage, ramStream } from './synthetic-stream.js';

const STALL_MS = 600;
const psk = randomBytes(32);
const events: Record<string, unknown>[] = [];
let dest: Server;
let sink: Server;
const delivered: Buffer[][] = [];

const port = (s: Server) => (s.address() as { port: number }).port;
const listen = (s: Server) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
/** Closed, with whatever it was sent read and dropped (an unread socket never sees the peer's end). */
const closed = (s: Socket) =>
  new Promise<void>((resolve) => {
    s.on('close', () => resolve());
    if (s.listenerCount('data') === 0) s.resume();
  });
const hello = (forward: string) =>
  frame(FRAME.HELLO, Buffer.from(JSON.stringify({ version: 1, session: 'abuse', forward })));

before(async () => {
  // The destination QEMUs: each connection's bytes are kept, to compare with what was sent.
  sink = createServer((c) => {
    const got: Buffer[] = [];
    delivered.push(got);
    c.on('data', (d: Buffer) => got.push(d));
  });
  await listen(sink);
  dest = tunnelDest({
    psk,
    store: new ContentStore(join(tempDir(), 'store'), 1e9),
    allowForward: ['127.0.0.1'],
    stallMs: STALL_MS,
    log: (e) => events.push(e),
  });
  await listen(dest);
});

after(() => {
  dest.close();
  sink.close();
});

const authenticated = () => connectWithKey(port(dest), psk);

/** What the destination answered before closing the connection, as text. */
async function answer(send: Buffer[]): Promise<string> {
  const tls = authenticated();
  const reply: Buffer[] = [];
  tls.on('data', (d: Buffer) => reply.push(d));
  tls.on('error', () => undefined);
  for (const b of send) tls.write(b);
  await closed(tls);
  return Buffer.concat(reply).toString('latin1');
}

/** Whether a destination QEMU connection made since `since` received exactly `stream` (within 5 s). */
async function arrived(stream: Buffer, since: number): Promise<boolean> {
  const got = () => delivered.slice(since).some((d) => Buffer.concat(d).equals(stream));
  for (let i = 0; i < 100 && !got(); i++) await new Promise((r) => setTimeout(r, 50));
  return got();
}

/** A real migration through a source proxy into the destination: true when rebuilt byte for byte. */
async function migrate(pages: number, seed: number): Promise<boolean> {
  const stream = ramStream(Array.from({ length: pages }, (_, i) => numberedPage(seed + i)));
  const source = tunnelSource({
    psk,
    dest: { host: '127.0.0.1', port: port(dest) },
    forward: `127.0.0.1:${port(sink)}`,
    log: (e) => events.push(e),
  });
  await listen(source);
  const before = delivered.length;
  const qemu = createConnection(port(source), '127.0.0.1', () => qemu.end(stream));
  await closed(qemu);
  source.close();
  return arrived(stream, before);
}

describe('tunnel under abuse: each bad peer is refused or timed out, and other migrations go on', () => {
  it('refuses a peer that speaks garbage instead of TLS, and one without the key', async () => {
    const raw = createConnection(port(dest), '127.0.0.1', () => raw.write(randomBytes(4096)));
    raw.on('error', () => undefined);
    await closed(raw);
    const wrongKey = connectWithKey(port(dest), randomBytes(32));
    wrongKey.on('error', () => undefined);
    await closed(wrongKey);
    assert.ok(events.filter((e) => e.event === 'rejected').length >= 2);
  });

  it('answers garbage frames from an authenticated peer with ERROR, naming what was wrong', async () => {
    assert.match(await answer([randomBytes(64)]), /frame of \d+ bytes|frame \d+ before HELLO/);
    assert.match(await answer([frame(FRAME.RAW, Buffer.from('x'))]), /frame 3 before HELLO/);
    assert.match(await answer([frame(FRAME.HELLO, Buffer.from('{"session":'))]), /HELLO is not JSON/);
    assert.match(await answer([frame(FRAME.HELLO, Buffer.from('[1]'))]), /HELLO without a session/);
    const forward = `127.0.0.1:${port(sink)}`;
    assert.match(await answer([hello(forward), hello(forward)]), /a second HELLO/);
    // Stream frames before the store's picture is complete: the source must wait for READY.
    assert.match(
      await answer([Buffer.concat([hello(forward), frame(FRAME.RAW, Buffer.from('QEVM'))])]),
      /frame 3 before READY/,
    );
  });

  it('refuses a recorded session replayed to it: TLS-PSK handshakes do not replay', async () => {
    // A relay between a real source proxy and the destination records what the source sent.
    const recorded: Buffer[] = [];
    const relay = createServer((client) => {
      const upstream = createConnection(port(dest), '127.0.0.1');
      client.on('data', (d: Buffer) => {
        recorded.push(d);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => client.write(d));
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await listen(relay);
    const source = tunnelSource({
      psk,
      dest: { host: '127.0.0.1', port: port(relay) },
      forward: `127.0.0.1:${port(sink)}`,
      log: (e) => events.push(e),
    });
    await listen(source);
    const stream = ramStream([numberedPage(500), numberedPage(501)]);
    const first = delivered.length;
    const qemu = createConnection(port(source), '127.0.0.1', () => qemu.end(stream));
    await closed(qemu);
    for (let i = 0; i < 100 && !Buffer.concat(delivered[first] ?? []).equals(stream); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      Buffer.concat(delivered[first] ?? []).equals(stream),
      'the recorded session itself went through',
    );
    source.close();
    relay.close();
    const rejected = events.filter((e) => e.event === 'rejected').length;
    const connections = delivered.length;
    const replay = createConnection(port(dest), '127.0.0.1', () => {
      for (const d of recorded) replay.write(d);
    });
    replay.on('error', () => undefined);
    await closed(replay);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(delivered.length, connections, 'the replay reached no destination QEMU');
    assert.equal(events.filter((e) => e.event === 'rejected').length, rejected + 1);
  });

  it('times out a source that stalls in the middle of a frame, or before its HELLO', async () => {
    const started = Date.now();
    const half = frame(FRAME.HELLO, Buffer.from(JSON.stringify({ session: 's', forward: 'x:1' })));
    assert.match(await answer([half.subarray(0, 9)]), /stalled for 0\.6 s before its HELLO/);
    const forward = `127.0.0.1:${port(sink)}`;
    const midFrame = answer([hello(forward), frame(FRAME.RAW, Buffer.alloc(100)).subarray(0, 50)]);
    // The source owes READY's answer first: it never comes, as a stalled source would.
    assert.match(await midFrame, /stalled for 0\.6 s/);
    assert.ok(Date.now() - started < 10 * STALL_MS, `${Date.now() - started} ms`);
  });

  it('keeps a quiet session between frames open (a ready disk mirror sends nothing for a while)', async () => {
    const tls = authenticated();
    const reply: Buffer[] = [];
    tls.on('data', (d: Buffer) => reply.push(d));
    tls.write(hello(`127.0.0.1:${port(sink)}`));
    await new Promise((r) => setTimeout(r, 3 * STALL_MS));
    assert.equal(tls.destroyed, false, 'still open after three stall periods of silence');
    assert.ok(Buffer.concat(reply).includes(Buffer.from([FRAME.READY, 0, 0, 0, 0])), 'READY came');
    tls.end(frame(FRAME.END));
    await closed(tls);
  });

  it('fails the migration at once when the destination stalls mid-frame: QEMU is told, the VM runs on', async () => {
    // A destination proxy (it holds the key) that sends half a STORE frame and then nothing.
    const stalling = tlsServer(
      { ciphers: PSK_CIPHERS, maxVersion: 'TLSv1.2', pskCallback: () => psk },
      (socket) => socket.write(frame(FRAME.STORE, Buffer.alloc(200)).subarray(0, 100)),
    );
    await listen(stalling);
    const log: Record<string, unknown>[] = [];
    const source = tunnelSource({
      psk,
      dest: { host: '127.0.0.1', port: port(stalling) },
      forward: '127.0.0.1:1',
      stallMs: STALL_MS,
      log: (e) => log.push(e),
    });
    await listen(source);
    const started = Date.now();
    const qemu = createConnection(port(source), '127.0.0.1', () => qemu.write(ramStream([numberedPage(9)])));
    qemu.on('error', () => undefined);
    await closed(qemu);
    assert.ok(Date.now() - started < 10 * STALL_MS);
    assert.match(String(log.find((e) => e.event === 'failed')?.reason), /stalled for 0\.6 s before READY/);
    source.close();
    stalling.close();
  });

  it('migrates through other connections while garbage, stalled and slow peers hold theirs open', async () => {
    const abusers: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const tls = authenticated();
      tls.on('error', () => undefined);
      // Half of them stall mid-HELLO; the others send it a byte at a time.
      const h = hello(`127.0.0.1:${port(sink)}`);
      if (i % 2 === 0) tls.write(h.subarray(0, 7));
      else {
        let at = 0;
        const drip = setInterval(() => {
          if (at >= 6 || tls.destroyed) return clearInterval(drip);
          tls.write(h.subarray(at, ++at));
        }, 50);
      }
      abusers.push(tls);
    }
    const raw = createConnection(port(dest), '127.0.0.1', () => raw.write(randomBytes(100)));
    raw.on('error', () => undefined);
    assert.ok(await migrate(300, 10_000), 'a migration alongside them is rebuilt exactly');
    assert.ok(await migrate(50, 20_000), 'and another');
    await Promise.all(abusers.map(closed));
    assert.ok(
      abusers.every((s) => s.destroyed),
      'every stalled peer was cut off',
    );
  });
});
