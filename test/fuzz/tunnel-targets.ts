import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { ContentStore, hashKey, sha256 } from '../../src/tunnel/content-store.js';
import { FRAME, frame, u16 } from '../../src/tunnel/frames.js';
import { buildFilter, encodeShard } from '../../src/tunnel/page-filter.js';
import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';
import { StorePicture } from '../../src/tunnel/store-picture.js';
import { destSession, type LiveSession } from '../../src/tunnel/tunnel-dest.js';
import { sourceSession } from '../../src/tunnel/tunnel-source.js';
import { tempDir } from '../helpers.js';
import { numberedPage, ramStream } from '../tunnel/synthetic-stream.js';
import { Finding, LEAKED_ERROR, type Target } from './target.js';

/**
 * The two proxies' sessions, run over in-memory links (no TLS: it authenticates the peer, and a peer
 * that passed it is what these targets play). The input is everything the peer sends; the session must
 * end by itself once the peer has hung up, with a reason a person can read.
 */

/** One side of a link: the peer's bytes come in as given, what the session writes is kept. */
function link(input: Buffer): { side: Duplex; written: Buffer[]; closed: Promise<void> } {
  const written: Buffer[] = [];
  const side = new Duplex({
    allowHalfOpen: false,
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  const closed = new Promise<void>((resolve) => side.on('close', resolve));
  side.on('error', () => undefined);
  // In two pieces, cut where the input's own bytes say: frames across chunk boundaries are the point.
  const cut = input.length === 0 ? 0 : (input[input.length - 1] as number) % input.length;
  setImmediate(() => {
    side.push(input.subarray(0, cut));
    side.push(input.subarray(cut));
    side.push(null);
  });
  return { side, written, closed };
}

/** The session has ended within the input's time, and every reason it gave is an explanation. */
async function ended(closed: Promise<void>, reasons: string[], what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 800);
  });
  const outcome = await Promise.race([closed, late]);
  clearTimeout(timer);
  if (outcome === 'late') throw new Finding(`the ${what} session is still open after its peer hung up`);
  const leaked = reasons.find((r) => LEAKED_ERROR.test(r));
  if (leaked !== undefined) throw new Finding(`the ${what} gave a JavaScript error as its reason: ${leaked}`);
}

const shm = existsSync('/dev/shm') ? '/dev/shm' : undefined;
let store: ContentStore | undefined;
const theStore = () => {
  // On tmpfs when there is one: every session's end syncs the store.
  if (store === undefined) {
    const dir = tempDir(shm);
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    store = new ContentStore(join(dir, 'store'), 64 << 20);
  }
  return store;
};

/** A QEMU's side of a socket: it takes whatever it is sent, and sends what it is given to push. */
const quietPeer = () =>
  new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });

/** A stand-in for the destination QEMU. */
function qemuSink(_port: number, _host: string, onConnect: () => void): Duplex {
  setImmediate(onConnect);
  return quietPeer();
}

/** A source's side of a session: HELLO, then the stream as RAW, NEW, REF and END frames. */
function sourceFrames(): Buffer[] {
  const page = numberedPage(7);
  const header = Buffer.alloc(8);
  const hello = (forward: string) =>
    frame(FRAME.HELLO, Buffer.from(JSON.stringify({ version: 1, session: 'fuzz', forward })));
  return [
    Buffer.concat([
      hello('127.0.0.1:5900'),
      frame(FRAME.RAW, Buffer.from('QEVM')),
      frame(FRAME.NEW, u16(8), header, page),
      frame(FRAME.REF, u16(8), header, sha256(page)),
      frame(FRAME.REF, u16(0), sha256(numberedPage(8))),
      frame(FRAME.DATA, sha256(numberedPage(8)), numberedPage(8)),
      frame(FRAME.END),
    ]),
    Buffer.concat([hello('10.9.9.9:1'), frame(FRAME.END)]),
  ];
}

/** A destination's side: the store's picture, READY, a NACK, ACKs, DONE (or ERROR). */
function destFrames(): Buffer[] {
  const epoch = Buffer.from('e1');
  const ack = Buffer.alloc(4);
  ack.writeUInt32BE(1);
  return [
    Buffer.concat([
      frame(FRAME.STORE, Buffer.from([epoch.length]), epoch, sha256(numberedPage(1))),
      frame(FRAME.READY),
      frame(FRAME.NACK, sha256(numberedPage(1))),
      frame(FRAME.ACK, ack),
      frame(FRAME.BACK, Buffer.from('ok')),
      frame(FRAME.DONE, Buffer.from(JSON.stringify({ generation: 3 }))),
    ]),
    // A store told by a filter, then a page the source took for stored asked for again.
    Buffer.concat([
      ...buildFilter([hashKey(sha256(numberedPage(1))), hashKey(sha256(numberedPage(2)))]).map((s) =>
        frame(FRAME.FILTER, Buffer.from([epoch.length]), epoch, encodeShard(s)),
      ),
      frame(FRAME.READY),
      frame(FRAME.NACK, sha256(numberedPage(3))),
      frame(FRAME.DONE, Buffer.from(JSON.stringify({ generation: 2 }))),
    ]),
    Buffer.concat([
      frame(FRAME.STORE, Buffer.from([0])),
      frame(FRAME.READY),
      frame(FRAME.ERROR, Buffer.from('no')),
    ]),
  ];
}

export const TUNNEL_TARGETS: Target[] = [
  {
    name: 'tunnel-dest',
    seeds: sourceFrames,
    run: async (input) => {
      const reasons: string[] = [];
      const live = new Set<LiveSession>();
      const { side, written, closed } = link(input);
      destSession(
        side,
        {
          psk: Buffer.alloc(0),
          store: theStore(),
          allowForward: ['127.0.0.1'],
          log: (e) => {
            if (typeof e.reason === 'string') reasons.push(e.reason);
          },
        },
        live,
        qemuSink,
      );
      await ended(closed, reasons, 'destination');
      for (const f of written) if (f[0] === FRAME.ERROR) reasons.push(f.subarray(5).toString());
      if (live.size > 0) throw new Finding('a closed session is still counted as live');
    },
  },
  {
    name: 'tunnel-source',
    seeds: destFrames,
    run: async (input) => {
      const reasons: string[] = [];
      const { side, closed } = link(input);
      // QEMU's side: a short precopy stream, sent once the destination says READY.
      const qemu = quietPeer();
      qemu.push(ramStream([numberedPage(1), Buffer.alloc(PAGE_SIZE)]));
      qemu.push(null);
      sourceSession(
        qemu,
        side,
        {
          psk: Buffer.alloc(0),
          dest: { host: '127.0.0.1', port: 1 },
          forward: '127.0.0.1:5900',
          log: (e) => {
            if (typeof e.reason === 'string') reasons.push(e.reason);
          },
        },
        new StorePicture(),
      );
      await ended(closed, reasons, 'source');
    },
  },
];
