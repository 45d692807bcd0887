import { createWriteStream, type WriteStream } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Server, createServer as tlsServer } from 'node:tls';
import type { ContentStore } from './content-store.js';
import { hashKey, sha256 } from './content-store.js';
import { FRAME, FrameReader, frame, STALL_MS, STORE_HASHES, watchStall } from './frames.js';
import { buildFilter, encodeShard, filterBytes } from './page-filter.js';
import { PAGE_SIZE } from './precopy-parser.js';
import { PSK_CIPHERS, PSK_IDENTITY } from './psk.js';

export interface DestOptions {
  psk: Buffer;
  store: ContentStore;
  /** Hosts the source may ask the stream to be forwarded to (the destination QEMUs). */
  allowForward: string[];
  /** Keep a copy of each rebuilt stream there (for audits and tests). */
  record?: string;
  log: (event: Record<string, unknown>) => void;
  /** A source silent this long before its HELLO or in the middle of a frame is cut off (default 30 s). */
  stallMs?: number;
}

const ACK_EVERY = 1024;
/**
 * Frames held while a page asked for again is on its way: a link's bandwidth times its round trip.
 * Past this the source is not answering its NACK, and the session ends rather than memory growing.
 */
const MAX_HELD_BYTES = 256 << 20;

/** How the destination proxy reaches the destination QEMU (a TCP connection, unless a test says). */
export type ForwardConnect = (port: number, host: string, onConnect: () => void) => Duplex;

/** A running session, as far as the pictures of the store go. */
export interface LiveSession {
  picture: string;
  /** Another picture's session stored pages meanwhile: this one's source does not know them. */
  tainted: boolean;
  /** Generations of the pages this session stored, as [start, end) runs: its source knows them. */
  stored: number[];
}

/**
 * The destination proxy: authenticates the source (TLS-PSK), tells it which pages the site's store
 * holds, rebuilds the byte-identical QEMU stream from RAW, NEW and REF frames, and forwards it to the
 * destination QEMU's -incoming address. A page it cannot produce is asked for again (NACK) before
 * anything after it is written.
 */
export function tunnelDest(o: DestOptions): Server {
  const live = new Set<LiveSession>();
  return tlsServer(
    {
      ciphers: PSK_CIPHERS,
      maxVersion: 'TLSv1.2',
      pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? o.psk : null),
      handshakeTimeout: 10_000,
    },
    (socket) => destSession(socket, o, live),
  ).on('tlsClientError', (err) => o.log({ event: 'rejected', reason: err.message }));
}

/**
 * One source's session over an authenticated link. A link that breaks the protocol (a frame out of
 * turn, a second HELLO, a stall mid-frame) is answered with ERROR and closed; other sessions go on.
 */
export function destSession(
  tls: Duplex,
  o: DestOptions,
  live: Set<LiveSession>,
  connect: ForwardConnect = netConnect,
): void {
  const me: LiveSession = { picture: '', tainted: false, stored: [] };
  let startGeneration = 0;
  const store = (content: Buffer) => {
    const before = o.store.generation;
    o.store.put(content);
    if (o.store.generation === before) return;
    if (me.stored.at(-1) === before) me.stored[me.stored.length - 1] = before + 1;
    else me.stored.push(before, before + 1);
    for (const other of live) if (other.picture !== me.picture) other.tainted = true;
  };
  let qemu: Duplex | undefined;
  let record: WriteStream | undefined;
  let id = '?';
  let hello = false;
  let ready = false;
  let ended = false;
  const queue: [number, Buffer][] = [];
  let heldBytes = 0;
  let waitingFor: string | null = null; // a page asked for again: the stream is held until it comes
  const recovered = new Map<string, Buffer>();
  const counters = { pagesNew: 0, pagesRef: 0, recovered: 0, streamBytes: 0 };
  let acked = 0;
  o.store.begin();
  let closed = false;
  const close = (error?: string) => {
    if (closed) return;
    closed = true;
    clearTimeout(stall);
    live.delete(me);
    o.store.end();
    if (error !== undefined) {
      o.log({ event: 'failed', session: id, reason: error });
      if (!tls.destroyed) tls.end(frame(FRAME.ERROR, Buffer.from(error)));
      qemu?.destroy();
    }
    record?.end();
  };
  const write = (bytes: Buffer) => {
    counters.streamBytes += bytes.length;
    record?.write(bytes);
    if (qemu === undefined || qemu.destroyed) return; // QEMU hung up: the rest has nowhere to go
    if (!qemu.write(bytes)) tls.pause();
  };
  const drain = () => {
    while (queue.length > 0 && waitingFor === null && !closed) {
      const [type, payload] = queue.shift() as [number, Buffer];
      heldBytes -= payload.length;
      if (type === FRAME.RAW) write(payload);
      else if (type === FRAME.NEW) {
        const [header, content] = splitPage(payload);
        if (content.length !== PAGE_SIZE) return close(`NEW frame with ${content.length} bytes of content`);
        store(content);
        counters.pagesNew++;
        write(header.length === 0 ? content : Buffer.concat([header, content])); // NBD blocks have no header
      } else if (type === FRAME.REF) {
        const [header, hash] = splitPage(payload);
        if (hash.length !== 32) return close(`REF frame with a hash of ${hash.length} bytes`);
        const content = recovered.get(hashKey(hash)) ?? o.store.get(hash);
        if (content === undefined) {
          queue.unshift([type, payload]);
          heldBytes += payload.length;
          waitingFor = hashKey(hash);
          counters.recovered++;
          tls.write(frame(FRAME.NACK, hash));
          return;
        }
        counters.pagesRef++;
        write(header.length === 0 ? content : Buffer.concat([header, content])); // NBD blocks have no header
        if (++acked % ACK_EVERY === 0) {
          const n = Buffer.alloc(4);
          n.writeUInt32BE(acked);
          tls.write(frame(FRAME.ACK, n));
        }
      } else if (type === FRAME.END) {
        ended = true;
        const done = () => {
          // The source's picture is complete up to here, unless a session with another picture stored
          // pages meanwhile: then only up to where this session began.
          const generation = me.tainted ? startGeneration : o.store.generation;
          tls.end(frame(FRAME.DONE, Buffer.from(JSON.stringify({ ...counters, generation }))));
          o.log({ event: 'done', session: id, ...counters });
          close();
        };
        // QEMU may have closed first (an NBD server stopped before the client's goodbye came across
        // a slow link): then there is nothing left to flush, and the end of its socket never comes.
        if (qemu === undefined || qemu.destroyed || qemu.writableFinished) done();
        else qemu.end(done);
      } else return close(`unexpected frame ${type}`);
    }
  };
  const reader = new FrameReader((type, payload) => {
    if (closed) return;
    if (type === FRAME.HELLO) {
      if (hello) return close('a second HELLO');
      hello = true;
      return greet(readHello(payload));
    }
    // A source sends nothing but its HELLO before the store's picture is complete (it waits for READY).
    if (!ready) return close(`frame ${type} before ${hello ? 'READY' : 'HELLO'}`);
    if (type === FRAME.DATA) {
      const hash = payload.subarray(0, 32);
      const content = payload.subarray(32);
      // Content is trusted only under its own hash.
      if (content.length !== PAGE_SIZE || !sha256(content).equals(hash))
        return close('a page does not match its hash');
      recovered.set(hashKey(hash), Buffer.from(content));
      store(content);
      if (waitingFor === hashKey(hash)) waitingFor = null;
      return drain();
    }
    queue.push([type, Buffer.from(payload)]);
    heldBytes += payload.length;
    if (heldBytes > MAX_HELD_BYTES)
      return close(`${heldBytes >> 20} MiB of frames held while a page asked for again did not come`);
    drain();
  });
  const greet = (h: Hello | string) => {
    if (typeof h === 'string') return close(h);
    id = h.session.replace(/[^\w-]/g, '').slice(0, 64) || '?';
    const match = /^(.+):(\d+)$/.exec(h.forward);
    const host = match?.[1]?.replace(/^\[|\]$/g, '');
    if (match === null || host === undefined || !o.allowForward.includes(host))
      return close(`forwarding to ${h.forward} is not allowed (--allow-forward)`);
    if (o.record !== undefined) record = createWriteStream(join(o.record, `${id}.out`));
    qemu = connect(Number(match[2]), host, () => {
      if (closed) return;
      const epoch = Buffer.from(o.store.epoch);
      // A source that knows this store up to some point of its log is told only what came after.
      const p = h.picture;
      const since =
        p !== undefined &&
        p.epoch === o.store.epoch &&
        typeof p.generation === 'number' &&
        Number.isInteger(p.generation) &&
        p.generation >= 0 &&
        p.generation <= o.store.generation
          ? p.generation
          : 0;
      me.picture = typeof p?.id === 'string' ? p.id : id;
      startGeneration = o.store.generation;
      live.add(me);
      // Nor of what the sessions sharing its picture are storing right now.
      const hashes = o.store.hashesSince(since, ownRuns(live, me.picture));
      const head = Buffer.from([epoch.length]);
      // Past a sixteenth of the store, a filter of all of it is the smaller message (page-filter.ts).
      const filter = hashes.length * 32 > filterBytes(o.store.pages) + 1024;
      if (filter)
        for (const shard of buildFilter(o.store.keys()))
          tls.write(frame(FRAME.FILTER, head, epoch, encodeShard(shard)));
      else
        for (let at = 0; at === 0 || at < hashes.length; at += STORE_HASHES)
          tls.write(frame(FRAME.STORE, head, epoch, ...hashes.slice(at, at + STORE_HASHES)));
      tls.write(frame(FRAME.READY));
      ready = true;
      o.log({
        event: 'session',
        session: id,
        forward: h.forward,
        storePages: o.store.pages,
        handshakePages: hashes.length,
        handshake: filter ? 'filter' : 'hashes',
      });
      drain();
    });
    qemu.on('drain', () => tls.resume());
    // A QEMU that hangs up while the link is paused for it never drains: let the frames flow again,
    // so the source's END still arrives (an NBD server stops right after the mirror's last write).
    qemu.on('close', () => tls.resume());
    // The return path (libvirt turns it on): the destination QEMU answers the source QEMU.
    qemu.on('data', (bytes: Buffer) => tls.write(frame(FRAME.BACK, bytes)));
    qemu.on('error', (err) => close(`destination QEMU ${h.forward}: ${err.message}`));
  };
  const stall = watchStall(
    tls,
    o.stallMs ?? STALL_MS,
    () => (!hello ? 'before its HELLO' : reader.pending > 0 ? 'in the middle of a frame' : null),
    (reason) => {
      close(`the source ${reason}`);
      tls.destroy();
    },
  );
  tls.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      close((err as Error).message);
    }
  });
  tls.on('error', (err) => close(`link: ${err.message}`));
  tls.on('close', () => {
    if (!ended) close('the source went away before the end of the stream');
  });
}

/** A NEW or REF frame's page header (u16 length, then the header) and what follows it. */
function splitPage(payload: Buffer): [Buffer, Buffer] {
  const length = payload.length < 2 ? 0 : payload.readUInt16BE(0);
  const header = payload.subarray(2, 2 + length);
  return [header, payload.subarray(2 + header.length)];
}

interface Hello {
  session: string;
  forward: string;
  picture?: { id?: unknown; epoch?: unknown; generation?: unknown } | undefined;
}

/** The source's HELLO, or why it is not one. */
function readHello(payload: Buffer): Hello | string {
  let h: unknown;
  try {
    h = JSON.parse(payload.toString());
  } catch {
    return 'HELLO is not JSON';
  }
  const { session, forward, picture } = (h ?? {}) as Record<string, unknown>;
  if (typeof session !== 'string' || typeof forward !== 'string')
    return 'HELLO without a session and a forward address';
  if (picture !== undefined && (typeof picture !== 'object' || picture === null))
    return 'HELLO with a picture that is not an object';
  return { session, forward, picture: picture as Hello['picture'] };
}

/** The generations stored by the live sessions of one picture, as sorted, merged [start, end) runs. */
function ownRuns(live: Set<LiveSession>, picture: string): number[] {
  const runs: [number, number][] = [];
  for (const l of live)
    if (l.picture === picture)
      for (let i = 0; i < l.stored.length; i += 2)
        runs.push([l.stored[i] as number, l.stored[i + 1] as number]);
  runs.sort((x, y) => x[0] - y[0]);
  const merged: number[] = [];
  for (const [start, end] of runs) {
    if (merged.length > 0 && start <= (merged.at(-1) as number))
      merged[merged.length - 1] = Math.max(merged.at(-1) as number, end);
    else merged.push(start, end);
  }
  return merged;
}
