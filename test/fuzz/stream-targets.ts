import { readdirSync, readFileSync } from 'node:fs';
import { Decoder } from '../../capture/decode/decoder.js';
import { NONE, STATUS } from '../../capture/decode/packet.js';
import { LINKTYPE } from '../../capture/link-types.js';
import { seededRng } from '../../planner/rng.js';
import { NbdParser } from '../../src/tunnel/nbd-parser.js';
import { PAGE_SIZE, PrecopyParser, type StreamSink } from '../../src/tunnel/precopy-parser.js';
import { fixture } from '../helpers.js';
import {
  be16,
  be32,
  nbdOption,
  nbdRequest,
  nbdWrite,
  numberedPage,
  ramStream,
} from '../tunnel/synthetic-stream.js';
import { described, Finding, type Target } from './target.js';

/**
 * Input of the decode target: a link type (be16), then frames, each a be16 length and its bytes. A
 * length with its top bit set marks a frame the capture cut (its original length is 100 bytes more).
 */
function decodeInput(linkType: number, frames: Buffer[]): Buffer {
  return Buffer.concat([be16(linkType), ...frames.flatMap((f) => [be16(f.length), f])]);
}

/** The first frames of each pcap fixture, under its link type, and IP packets under the IP link types. */
function decodeSeeds(): Buffer[] {
  const seeds: Buffer[] = [];
  let ipPacket: Buffer | undefined;
  for (const f of readdirSync(fixture('captures')).filter((n) => n.endsWith('.pcap'))) {
    const b = readFileSync(fixture('captures', f));
    const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
    const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const linkType = u32(20) & 0xffff;
    const frames: Buffer[] = [];
    for (let at = 24; at + 16 <= b.length && frames.length < 6; ) {
      const caplen = u32(at + 8);
      frames.push(b.subarray(at + 16, at + 16 + Math.min(caplen, 1500)));
      at += 16 + caplen;
    }
    seeds.push(decodeInput(linkType, frames));
    const ether = frames.find((fr) => linkType === LINKTYPE.ETHERNET && fr.readUInt16BE(12) === 0x0800);
    ipPacket ??= ether?.subarray(14);
  }
  if (ipPacket !== undefined) {
    const family = (n: number, bigEndian: boolean) => (bigEndian ? be32(n) : Buffer.from([n, 0, 0, 0]));
    seeds.push(
      decodeInput(LINKTYPE.RAW, [ipPacket]),
      decodeInput(LINKTYPE.IPV4, [ipPacket]),
      decodeInput(LINKTYPE.NULL, [Buffer.concat([family(2, false), ipPacket])]),
      decodeInput(LINKTYPE.LOOP, [Buffer.concat([family(2, true), ipPacket])]),
    );
  }
  return seeds;
}

const decoder = new Decoder();

/** Every frame gets exactly one outcome, with a reason when not ok, and offsets inside the frame. */
async function decodeFrames(input: Buffer): Promise<void> {
  if (input.length < 2) return;
  const linkType = input.readUInt16BE(0);
  for (let at = 2; at < input.length; ) {
    const header = at + 2 <= input.length ? input.readUInt16BE(at) : 0;
    const start = Math.min(at + 2, input.length);
    const caplen = Math.min(header & 0x7fff, input.length - start);
    const origLen = caplen + (header & 0x8000 ? 100 : 0);
    const pk = decoder.decode(input, start, caplen, origLen, linkType);
    const outcome = `status ${pk.status} (${pk.reason || 'no reason'})`;
    if (!Object.values(STATUS).includes(pk.status) || (pk.status === STATUS.ok) !== (pk.reason === ''))
      throw new Finding(`frame at ${at}: ${outcome}`);
    // Headers are read from the captured bytes; the inner frame may begin at the end of the frame on
    // the wire (a later fragment of a tunnelled packet: all overhead).
    if (pk.l3Start !== NONE && (pk.l3Start < start || pk.l3Start > start + caplen))
      throw new Finding(
        `frame at ${at}: l3Start ${pk.l3Start} outside [${start}, ${start + caplen}], ${outcome}`,
      );
    if (pk.innerStart < start || pk.innerStart > start + origLen)
      throw new Finding(
        `frame at ${at}: innerStart ${pk.innerStart} outside [${start}, ${start + origLen}], ${outcome}`,
      );
    if (pk.status === STATUS.ok)
      for (const [name, n] of [
        ['frameBytes', pk.frameBytes],
        ['l3Bytes', pk.l3Bytes],
        ['payloadBytes', pk.payloadBytes],
      ] as const)
        if (!Number.isSafeInteger(n) || n < 0 || n > 0x40000)
          throw new Finding(`frame at ${at}: ${name} ${n}, ${outcome}`);
    at = start + caplen;
  }
}

/** A sink that puts the stream back together, checking each page's size. */
function reassembler(): { sink: StreamSink; out: Buffer[] } {
  const out: Buffer[] = [];
  const sink: StreamSink = {
    raw: (b) => out.push(Buffer.from(b)),
    page: (header, content) => {
      if (content.length !== PAGE_SIZE) throw new Finding(`a page of ${content.length} bytes`);
      out.push(Buffer.from(header), Buffer.from(content));
    },
    zero: () => undefined,
  };
  return { sink, out };
}

/**
 * A streaming parser fed the input in pieces (sizes from a generator seeded by the input's length):
 * it must never throw, and what it emits must be the input, byte for byte.
 */
function streamTarget(
  name: string,
  make: (sink: StreamSink) => PrecopyParser | NbdParser,
  seeds: () => Buffer[],
): Target {
  return {
    name,
    seeds,
    run: async (input) => {
      const { sink, out } = reassembler();
      const parser = make(sink);
      const rng = seededRng(input.length + 1);
      try {
        for (let at = 0; at < input.length; ) {
          const n = 1 + Math.floor(rng() ** 3 * 9000);
          parser.write(input.subarray(at, at + n));
          at += n;
        }
        parser.end();
      } catch (err) {
        if (err instanceof Finding) throw err;
        throw new Finding(`the parser threw: ${described(err)}`);
      }
      const back = Buffer.concat(out);
      if (!back.equals(input))
        throw new Finding(`emitted ${back.length} bytes that are not the ${input.length} of the input`);
    },
  };
}

function nbdSeeds(): Buffer[] {
  return [
    Buffer.concat([
      be32(1),
      nbdOption(8, Buffer.alloc(0)),
      nbdOption(7, Buffer.concat([be32(3), Buffer.from('vda'), be16(0)])),
      nbdWrite(0, 8192),
      nbdRequest(0, 0, 4096),
      nbdWrite(1000, 5000),
      nbdRequest(6, 1 << 20, 1 << 20),
      nbdRequest(3, 0, 0),
      nbdRequest(2, 0, 0),
    ]),
  ];
}

export const STREAM_TARGETS: Target[] = [
  { name: 'decode', seeds: decodeSeeds, run: decodeFrames },
  streamTarget(
    'precopy',
    (sink) => new PrecopyParser(sink),
    () => [ramStream([numberedPage(1), numberedPage(2), Buffer.alloc(PAGE_SIZE)])],
  ),
  streamTarget('nbd', (sink) => new NbdParser(sink), nbdSeeds),
];
