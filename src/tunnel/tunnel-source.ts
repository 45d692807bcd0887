import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { hashKey } from './content-store.js';
import { FRAME, FrameReader, frame, STALL_MS, watchStall } from './frames.js';
import { decodeShard, type FilterShard, readShards } from './page-filter.js';
import type { Passthrough } from './precopy-parser.js';
import { PSK_CIPHERS, PSK_IDENTITY } from './psk.js';
import { StorePicture } from './store-picture.js';
import { StreamEncoder, type StreamProtocol } from './stream-encoder.js';

export interface SourceOptions {
  psk: Buffer;
  /** The destination proxy. */
  dest: { host: string; port: number };
  /** The destination QEMU's -incoming address, as the destination proxy reaches it. */
  forward: string;
  record?: string;
  /** precopy (default): QEMU's migration stream; nbd: a disk mirror's NBD connection. */
  protocol?: StreamProtocol;
  /** Shared with other proxies into the same site (one per proxy by default). */
  picture?: StorePicture;
  log: (event: Record<string, unknown>) => void;
  /** A destination silent this long before READY or in the middle of a frame is given up (default 30 s). */
  stallMs?: number;
}

export interface SessionCounters {
  session: string;
  streamBytes: number;
  wanBytes: number;
  pagesNew: number;
  pagesRef: number;
  pagesZero: number;
  /** Bytes of the destination's store handshake (STORE frames). */
  handshakeBytes: number;
  recovered: number;
  passthrough: Passthrough | null;
  seconds: number;
}

/**
 * The source proxy: QEMU's `migrate tcp:...` connects here. It parses the precopy stream and sends each
 * RAM page whose content the destination site holds (its store, or earlier in any migration sharing
 * this proxy's picture of it) as a SHA-256 reference, the rest as is. If the link or the destination proxy fails, it
 * closes QEMU's connection at once, so the migration fails promptly and the VM keeps running.
 */
export function tunnelSource(o: SourceOptions): Server {
  const picture = o.picture ?? new StorePicture();
  return createServer((qemu) => {
    const wan = tlsConnect({
      host: o.dest.host,
      port: o.dest.port,
      ciphers: PSK_CIPHERS,
      maxVersion: 'TLSv1.2',
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk: o.psk, identity: PSK_IDENTITY }),
    });
    // A link whose peer never says goodbye must not keep a finished executor alive: the QEMU side and
    // the listening proxy hold the process while a migration runs.
    wan.unref();
    sourceSession(qemu, wan, o, picture);
  });
}

/**
 * One migration: QEMU's stream in, frames to the destination proxy over `wan` (written before the
 * link is up: TLS holds them until its handshake is done). A destination that breaks the protocol or
 * stalls fails the migration at once, and QEMU's source VM runs on.
 */
export function sourceSession(qemu: Duplex, wan: Duplex, o: SourceOptions, picture: StorePicture): void {
  const id = randomBytes(6).toString('hex');
  const started = performance.now();
  const record: WriteStream | undefined =
    o.record === undefined ? undefined : createWriteStream(join(o.record, `${id}.in`));
  let finished = false;
  let ready = false;
  qemu.pause();
  const fail = (reason: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(stall);
    o.log({ event: 'failed', session: id, reason });
    qemu.destroy(); // QEMU sees the migration fail now, not at a timeout
    wan.destroy();
    record?.end();
  };
  let wanBytes = 0;
  let handshakeBytes = 0;
  let recovered = 0;
  const send = (bytes: Buffer) => {
    wanBytes += bytes.length;
    if (!wan.write(bytes)) qemu.pause();
  };
  const encoder = new StreamEncoder(picture, send, o.protocol);
  const shards: FilterShard[] = [];
  const reader = new FrameReader((type, payload) => {
    if (type === FRAME.STORE || type === FRAME.FILTER) {
      if (payload.length === 0 || ready)
        return fail(`a ${type === FRAME.STORE ? 'STORE' : 'FILTER'} frame out of turn`);
      handshakeBytes += 5 + payload.length;
      const body = 1 + (payload[0] as number);
      picture.setEpoch(payload.subarray(1, body).toString());
      if (type === FRAME.STORE)
        for (let at = body; at + 32 <= payload.length; at += 32)
          picture.add(hashKey(payload.subarray(at, at + 32)));
      else {
        const shard = decodeShard(payload.subarray(body));
        if (typeof shard === 'string') return fail(shard);
        shards.push(shard);
      }
    } else if (type === FRAME.READY) {
      if (ready) return fail('a second READY');
      if (shards.length > 0) {
        const filter = readShards(shards);
        if (typeof filter === 'string') return fail(filter);
        picture.filter = filter;
      }
      ready = true;
      o.log({ event: 'session', session: id, known: picture.size, handshakeBytes });
      qemu.resume();
    } else if (type === FRAME.NACK) {
      const content = encoder.held(payload);
      if (content === undefined)
        return fail(
          `the destination lacks page ${payload.toString('hex').slice(0, 16)}…, no longer held here`,
        );
      recovered++;
      send(frame(FRAME.DATA, payload, content));
    } else if (type === FRAME.ACK) {
      if (payload.length !== 4) return fail(`an ACK of ${payload.length} bytes`);
      encoder.acknowledge(payload.readUInt32BE(0));
    } else if (type === FRAME.DONE) {
      const generation = doneGeneration(payload);
      if (generation === null) return fail('DONE without its JSON counters');
      finished = true;
      clearTimeout(stall);
      if (generation !== undefined) picture.advance(generation);
      const passthrough = encoder.passthrough;
      if (passthrough !== null && !passthrough.ramEnded)
        o.log({
          event: 'warning',
          session: id,
          reason: `dedup stopped at byte ${passthrough.offset}: ${passthrough.reason}`,
        });
      const counters: SessionCounters = {
        session: id,
        ...encoder.counters,
        wanBytes,
        handshakeBytes,
        recovered,
        passthrough,
        seconds: (performance.now() - started) / 1000,
      };
      o.log({ event: 'done', ...counters });
      record?.end();
      wan.end();
    } else if (type === FRAME.BACK) qemu.write(payload);
    else if (type === FRAME.ERROR) fail(`destination: ${payload.toString().slice(0, 500)}`);
    else fail(`unexpected frame ${type} from the destination`);
  });
  send(
    frame(
      FRAME.HELLO,
      Buffer.from(
        JSON.stringify({ version: 1, session: id, forward: o.forward, picture: picture.summary() }),
      ),
    ),
  );
  // QEMU waits while the destination owes READY or the rest of a frame: past stallMs of silence, the
  // migration fails instead of hanging.
  const stall = watchStall(
    wan,
    o.stallMs ?? STALL_MS,
    () => (!ready ? 'before READY' : reader.pending > 0 ? 'in the middle of a frame' : null),
    (reason) => fail(`the destination proxy ${reason}`),
  );
  stall.unref();
  wan.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      fail((err as Error).message);
    }
  });
  wan.on('drain', () => qemu.resume());
  wan.on('error', (err) => fail(`link to ${o.dest.host}:${o.dest.port}: ${err.message}`));
  wan.on('close', () => {
    if (!finished) fail('the destination proxy closed the link');
  });
  qemu.on('data', (chunk: Buffer) => {
    record?.write(chunk);
    wan.cork(); // the pieces of a chunk go out in one write
    encoder.write(chunk);
    wan.uncork();
  });
  qemu.on('end', () => {
    encoder.end();
  });
  qemu.on('error', (err) => fail(`QEMU connection: ${err.message}`));
}

/** The store generation a DONE frame reports: undefined when it has none, null when it is not JSON. */
function doneGeneration(payload: Buffer): number | undefined | null {
  try {
    const done = JSON.parse(payload.toString()) as { generation?: unknown } | null;
    return typeof done?.generation === 'number' ? done.generation : undefined;
  } catch {
    return null;
  }
}
