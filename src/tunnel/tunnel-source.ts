import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { sha256 } from './content-store.js';
import { FRAME, FrameReader, frame, u16 } from './frames.js';
import { PrecopyParser } from './precopy-parser.js';
import { PSK_CIPHERS, PSK_IDENTITY } from './psk.js';

export interface SourceOptions {
  psk: Buffer;
  /** The destination proxy. */
  dest: { host: string; port: number };
  /** The destination QEMU's -incoming address, as the destination proxy reaches it. */
  forward: string;
  record?: string;
  log: (event: Record<string, unknown>) => void;
}

export interface SessionCounters {
  session: string;
  streamBytes: number;
  wanBytes: number;
  pagesNew: number;
  pagesRef: number;
  pagesZero: number;
  recovered: number;
  passthrough: { offset: number; reason: string; ramEnded: boolean } | null;
  seconds: number;
}

/** Raw bytes are sent in chunks of up to this much (zero-page records are a few bytes each). */
const RAW_CHUNK = 64 * 1024;

/**
 * The source proxy: QEMU's `migrate tcp:...` connects here. It parses the precopy stream and sends each
 * RAM page whose content the destination site holds (its store, or earlier in any migration through
 * this proxy) as a SHA-256 reference, the rest as is. If the link or the destination proxy fails, it
 * closes QEMU's connection at once, so the migration fails promptly and the VM keeps running.
 */
export function tunnelSource(o: SourceOptions): Server {
  // What the destination site holds, as far as this proxy knows: its store at the last handshake and
  // every page sent since. A page it lost meanwhile is asked for again, so this may be optimistic.
  const known = new Set<string>();
  let knownEpoch = '';
  return createServer((qemu) =>
    session(qemu, o, known, (epoch) => {
      if (epoch !== knownEpoch) known.clear();
      knownEpoch = epoch;
    }),
  );
}

function session(
  qemu: Socket,
  o: SourceOptions,
  known: Set<string>,
  setEpoch: (epoch: string) => void,
): void {
  const id = randomBytes(6).toString('hex');
  const started = performance.now();
  const counters: SessionCounters = {
    session: id,
    streamBytes: 0,
    wanBytes: 0,
    pagesNew: 0,
    pagesRef: 0,
    pagesZero: 0,
    recovered: 0,
    passthrough: null,
    seconds: 0,
  };
  const record: WriteStream | undefined =
    o.record === undefined ? undefined : createWriteStream(join(o.record, `${id}.in`));
  // Content of pages sent by reference, until the destination acknowledges having rebuilt them.
  const retained = new Map<string, { content: Buffer; refs: number }>();
  const order: string[] = [];
  let finished = false;
  qemu.pause();
  const wan = tlsConnect({
    host: o.dest.host,
    port: o.dest.port,
    ciphers: PSK_CIPHERS,
    maxVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: o.psk, identity: PSK_IDENTITY }),
  });
  const fail = (reason: string) => {
    if (finished) return;
    finished = true;
    o.log({ event: 'failed', session: id, reason });
    qemu.destroy(); // QEMU sees the migration fail now, not at a timeout
    wan.destroy();
    record?.end();
  };
  const send = (bytes: Buffer) => {
    counters.wanBytes += bytes.length;
    if (!wan.write(bytes)) qemu.pause();
  };
  let raw: Buffer[] = [];
  let rawBytes = 0;
  const flush = () => {
    if (rawBytes === 0) return;
    send(frame(FRAME.RAW, ...raw));
    raw = [];
    rawBytes = 0;
  };
  const parser = new PrecopyParser({
    raw: (bytes) => {
      for (let at = 0; at < bytes.length; ) {
        const piece = bytes.subarray(at, at + RAW_CHUNK - rawBytes);
        raw.push(Buffer.from(piece));
        rawBytes += piece.length;
        at += piece.length;
        if (rawBytes >= RAW_CHUNK) flush();
      }
    },
    page: (header, content) => {
      flush();
      const hash = sha256(content);
      const key = hash.toString('hex');
      if (known.has(key)) {
        counters.pagesRef++;
        const held = retained.get(key);
        if (held === undefined) retained.set(key, { content, refs: 1 });
        else held.refs++;
        order.push(key);
        send(frame(FRAME.REF, u16(header.length), header, hash));
      } else {
        counters.pagesNew++;
        known.add(key);
        send(frame(FRAME.NEW, u16(header.length), header, content));
      }
    },
    zero: () => {
      counters.pagesZero++;
    },
  });
  const reader = new FrameReader((type, payload) => {
    if (type === FRAME.STORE) {
      const epoch = payload.subarray(1, 1 + (payload[0] as number)).toString();
      setEpoch(epoch);
      for (let at = 1 + (payload[0] as number); at + 32 <= payload.length; at += 32)
        known.add(payload.subarray(at, at + 32).toString('hex'));
      o.log({ event: 'session', session: id, epoch, known: known.size });
      qemu.resume();
    } else if (type === FRAME.NACK) {
      const key = payload.toString('hex');
      const held = retained.get(key);
      if (held === undefined)
        return fail(`the destination lacks page ${key.slice(0, 16)}…, no longer held here`);
      counters.recovered++;
      send(frame(FRAME.DATA, payload, held.content));
    } else if (type === FRAME.ACK) {
      // References up to this count were rebuilt: their content need not be held any longer.
      const upTo = payload.readUInt32BE(0);
      const drop = order.splice(0, Math.max(0, upTo - (counters.pagesRef - order.length)));
      for (const key of drop) {
        const held = retained.get(key);
        if (held !== undefined && --held.refs === 0) retained.delete(key);
      }
    } else if (type === FRAME.DONE) {
      finished = true;
      counters.seconds = (performance.now() - started) / 1000;
      counters.passthrough = parser.passthrough;
      if (parser.passthrough !== null && !parser.passthrough.ramEnded)
        o.log({
          event: 'warning',
          session: id,
          reason: `dedup stopped at byte ${parser.passthrough.offset}: ${parser.passthrough.reason}`,
        });
      o.log({ event: 'done', ...counters });
      record?.end();
      wan.end();
    } else if (type === FRAME.BACK) qemu.write(payload);
    else if (type === FRAME.ERROR) fail(`destination: ${payload.toString()}`);
  });
  wan.on('secureConnect', () =>
    send(frame(FRAME.HELLO, Buffer.from(JSON.stringify({ version: 1, session: id, forward: o.forward })))),
  );
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
    counters.streamBytes += chunk.length;
    record?.write(chunk);
    parser.write(chunk);
  });
  qemu.on('end', () => {
    parser.end();
    flush();
    send(frame(FRAME.END));
  });
  qemu.on('error', (err) => fail(`QEMU connection: ${err.message}`));
}
