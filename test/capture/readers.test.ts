// @integration: needs tshark
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FrameSink } from '../../capture/files/frame-sink.js';
import { readCapture } from '../../capture/files/read-capture.js';
import { PcapWriter } from '../../fixtures/synth/pcap-writer.js';
import type { UserError } from '../../src/errors.js';
import { fixture, pcapFile, tcpFrame, tempDir, writeTemp } from '../helpers.js';

interface Seen {
  ts: number;
  caplen: number;
  origLen: number;
  linkType: number;
  first: number;
}

async function read(path: string) {
  const frames: Seen[] = [];
  const sink: FrameSink = {
    frame: (data, offset, caplen, origLen, ts, linkType) =>
      frames.push({ ts, caplen, origLen, linkType, first: data[offset] as number }),
  };
  const summary = await readCapture(path, sink);
  return { frames, summary };
}

/**
 * tshark's view of a file: timestamp, lengths per packet. tshark also lists pcapng's non-packet blocks
 * (name resolution, statistics, custom) as frames without an interface: those are left out, and SPB
 * packets have no timestamp (NaN here).
 */
function tsharkFrames(path: string): { ts: number; caplen: number; origLen: number }[] {
  const r = spawnSync(
    'tshark',
    [
      '-r',
      path,
      '-T',
      'fields',
      '-E',
      'separator=,',
      '-e',
      'frame.time_epoch',
      '-e',
      'frame.cap_len',
      '-e',
      'frame.len',
      '-e',
      'frame.interface_id',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const pcapng = path.endsWith('.pcapng');
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(','))
    .filter(([, , , iface]) => !pcapng || iface !== '')
    .map(([ts, cap, len]) => ({
      ts: ts === '' ? Number.NaN : Number(ts),
      caplen: Number(cap),
      origLen: Number(len),
    }));
}

function assertSameAsTshark(ours: Seen[], path: string): void {
  const theirs = tsharkFrames(path);
  assert.equal(ours.length, theirs.length);
  ours.forEach((f, i) => {
    const t = theirs[i] as { ts: number; caplen: number; origLen: number };
    assert.equal(f.caplen, t.caplen, `frame ${i + 1} caplen`);
    assert.equal(f.origLen, t.origLen, `frame ${i + 1} length`);
    if (!Number.isNaN(t.ts))
      assert.ok(Math.abs(f.ts - t.ts) < 1e-6, `frame ${i + 1} time ${f.ts} vs ${t.ts}`);
  });
}

describe('pcap', () => {
  const frames = [
    { data: tcpFrame('10.0.0.1', '10.0.0.2', 1, 2, 10), ts: 1700000000.25 },
    { data: tcpFrame('10.0.0.2', '10.0.0.1', 2, 1, 0), ts: 1700000001.5, origLen: 9000 },
  ];
  for (const variant of [{}, { bigEndian: true }, { nano: true }, { bigEndian: true, nano: true }]) {
    it(`reads ${variant.bigEndian ? 'big' : 'little'}-endian ${variant.nano ? 'nanosecond' : 'microsecond'} files`, async () => {
      const path = writeTemp('v.pcap', pcapFile(frames, variant));
      const { frames: seen, summary } = await read(path);
      assert.equal(summary.format, 'pcap');
      assert.deepEqual(summary.warnings, []);
      assert.deepEqual(
        seen.map((f) => [f.ts, f.caplen, f.origLen, f.linkType]),
        [
          [1700000000.25, 64, 64, 1],
          [1700000001.5, 54, 9000, 1],
        ],
      );
      assertSameAsTshark(seen, path);
    });
  }

  it('reads the big-endian nanosecond fixture like tshark', async () => {
    const path = fixture('captures', 'pcapplusplus_nanosecs_big_endian.pcap');
    assertSameAsTshark((await read(path)).frames, path);
  });

  it('yields the frames before a truncation, with a warning', async () => {
    const whole = pcapFile([
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2, 100) },
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2, 100) },
    ]);
    for (const cut of [whole.length - 1, whole.length - 100, 24 + 16 + 154 + 8]) {
      const { frames: seen, summary } = await read(writeTemp('cut.pcap', whole.subarray(0, cut)));
      assert.equal(seen.length, 1);
      assert.equal(summary.warnings.length, 1);
      assert.match(summary.warnings[0] as string, /truncated at byte 194/);
    }
  });

  it('stops at a corrupt record length without allocating it', async () => {
    const whole = pcapFile([
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2) },
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2) },
    ]);
    whole.writeUInt32LE(0xfffffff0, 24 + 16 + 54 + 8);
    const before = process.memoryUsage().rss;
    const { frames: seen, summary } = await read(writeTemp('corrupt.pcap', whole));
    assert.equal(seen.length, 1);
    assert.match(
      summary.warnings[0] as string,
      /corrupt record .* captured length 4294967280 exceeds the limit/,
    );
    assert.ok(process.memoryUsage().rss - before < 64 << 20);
  });

  it('names an unknown magic and rejects empty files', async () => {
    await assert.rejects(read(writeTemp('x.pcap', 'this is not a capture')), (e: UserError) => {
      assert.equal(e.code, 'capture_unknown_format');
      assert.match(e.message, /magic 0x74686973/);
      return true;
    });
    await assert.rejects(read(writeTemp('empty.pcap', '')), { code: 'capture_empty' });
    await assert.rejects(read('/nonexistent/x.pcap'), { code: 'capture_not_found' });
  });
});

describe('pcapng', () => {
  it('reads big-endian multi-section files where interface ids restart', async () => {
    const path = fixture('captures', 'gopacket_pcapng_be_test202_multisection.pcapng');
    const { frames: seen, summary } = await read(path);
    assert.equal(summary.format, 'pcapng');
    assertSameAsTshark(seen, path);
    assert.deepEqual([...new Set(seen.map((f) => f.linkType))].sort(), [0, 1]);
  });

  it('reads many interfaces with mixed link types', async () => {
    const path = fixture('captures', 'pcapplusplus_many_interfaces-1.pcapng');
    const { frames: seen } = await read(path);
    assertSameAsTshark(seen, path);
    assert.ok(new Set(seen.map((f) => f.linkType)).size >= 2);
  });

  it('applies if_tsresol and if_tsoffset, and reads SPB, OPB and EPB', async () => {
    const data = tcpFrame('10.0.0.1', '10.0.0.2', 1, 2);
    const path = writeTemp(
      'blocks.pcapng',
      pcapng([
        shb(),
        idb(1, [opt(9, Buffer.from([9])), opt(14, int64(100))]), // nanoseconds, +100 s
        idb(1, [opt(9, Buffer.from([0x80 | 10]))]), // 2^-10 s
        epb(0, 1_700_000_000_123_456_789n, data),
        epb(1, BigInt(1_700_000_000 * 1024 + 512), data),
        spb(data),
        opb(1, BigInt(1024 * 5), data),
      ]),
    );
    const { frames: seen } = await read(path);
    assert.equal(seen.length, 4);
    assert.ok(Math.abs((seen[0]?.ts ?? 0) - 1700000100.123457) < 1e-6);
    assert.equal(seen[1]?.ts, 1700000000.5);
    assert.equal(seen[2]?.caplen, data.length);
    assert.equal(seen[3]?.ts, 5);
    assertSameAsTshark(seen, path);
  });

  it('keeps the frames before a section with an unknown version, with a warning', async () => {
    const { frames: seen, summary } = await read(
      fixture('captures', 'gopacket_pcapng_be_test901_malformed.pcapng'),
    );
    assert.equal(seen.length, 1);
    assert.match(summary.warnings[0] as string, /unsupported pcapng version 2\.0/);
  });

  it('rejects a first section with an unknown version cleanly', async () => {
    const bytes = readFileSync(fixture('captures', 'gopacket_pcapng_be_test901_malformed.pcapng'));
    bytes.writeUInt16BE(2, 12);
    await assert.rejects(read(writeTemp('v2.pcapng', bytes)), (e: UserError) => {
      assert.equal(e.code, 'capture_bad_pcapng');
      assert.match(e.message, /unsupported pcapng version 2\.0/);
      return true;
    });
  });

  it('yields the blocks before a truncation', async () => {
    const data = tcpFrame('10.0.0.1', '10.0.0.2', 1, 2);
    const whole = pcapng([shb(), idb(1, []), epb(0, 1n, data), epb(0, 2n, data)]);
    const { frames: seen, summary } = await read(
      writeTemp('cut.pcapng', whole.subarray(0, whole.length - 10)),
    );
    assert.equal(seen.length, 1);
    assert.match(summary.warnings[0] as string, /truncated/);
  });
});

describe("pcapng blocks across the reader's buffer boundary", () => {
  // The reader fills 4 MiB at a time; blocks that start just before a multiple of it cross the boundary.
  const CHUNK = 4 << 20;
  const marked = (i: number, length: number) => Buffer.alloc(length, i & 0xff);

  it('reads every block size at every offset across the boundary whole', async () => {
    const head = Buffer.concat([shb(), idb(1, [])]);
    for (let shift = 0; shift <= 64; shift += 4) {
      // A filler frame ends `shift` bytes before the boundary; then blocks of every size from 12 bytes
      // (too short for an EPB's fields) to 64 bytes, in turn.
      const fillerData = CHUNK - shift - head.length - 32;
      const blocks = [head, epb(0, 1n, marked(0, fillerData))];
      const expected: number[] = [fillerData];
      for (let total = 12, i = 1; total <= 64; total += 4, i++) {
        if (total < 32) blocks.push(block(6, Buffer.alloc(total - 12)));
        else {
          blocks.push(epb(0, BigInt(i), marked(i, total - 32)));
          expected.push(total - 32);
        }
      }
      blocks.push(epb(0, 99n, marked(99, 100)));
      expected.push(100);
      const { frames: seen, summary } = await read(writeTemp('boundary.pcapng', pcapng(blocks)));
      assert.deepEqual(
        seen.map((f) => f.caplen),
        expected,
        `shift ${shift}`,
      );
      assert.equal(seen.at(-1)?.first, 99);
      assert.match(summary.warnings.join('\n'), /5 blocks are shorter than their type's fixed fields/);
    }
  });

  it('reads the reproducer whose tiny block straddled the boundary (gzip)', async () => {
    const { frames: seen, summary } = await read(
      fixture('repro', 'pcapng-block-straddles-read-buffer.pcapng.gz'),
    );
    assert.equal(seen.length, 1);
    assert.match(summary.warnings.join('\n'), /shorter than their type's fixed fields/);
  });
});

describe('pcap writers', () => {
  it('round a time to the microsecond as a whole: 1.9999996 s is 2.000000, not 1.000000', async () => {
    const path = join(tempDir(), 'round.pcap');
    const writer = new PcapWriter(path);
    for (const ts of [1.9999996, 1_700_000_000 + 0.4999994, 1_700_000_000 + 0.9999996]) writer.frame(ts, 60);
    writer.close();
    const { frames: seen } = await read(path);
    assert.deepEqual(
      seen.map((f) => f.ts),
      [2, 1700000000.499999, 1700000001],
    );
  });
});

describe('compressed input and stdin', () => {
  it('reads gzip files and gives the same frames as the plain file', async () => {
    const gz = fixture('cluster', 'cluster.pcap.gz');
    const plain = join(tempDir(), 'cluster.pcap');
    writeFileSync(plain, gunzipSync(readFileSync(gz)));
    const a = await read(gz);
    const b = await read(plain);
    assert.equal(a.frames.length, b.frames.length);
    assert.deepEqual(a.frames.slice(-3), b.frames.slice(-3));
  });

  it('stops early on gzip input without a stray stream error (looped: it was a race)', async () => {
    const junk = writeTemp('junk.gz', gzipSync(Buffer.alloc(400_000, 7)));
    const header = pcapFile([]);
    const badRecord = Buffer.alloc(16);
    badRecord.writeUInt32LE(0xffffffff, 8);
    const corrupt = writeTemp(
      'corrupt.pcap.gz',
      gzipSync(Buffer.concat([header, badRecord, Buffer.alloc(400_000)])),
    );
    const stray: unknown[] = [];
    const onStray = (err: unknown) => stray.push(err);
    process.on('uncaughtException', onStray);
    try {
      for (let i = 0; i < 500; i++) {
        await assert.rejects(read(junk), /unknown capture format/);
        const { summary } = await read(corrupt);
        assert.match(summary.warnings[0] as string, /exceeds the limit/);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('uncaughtException', onStray);
    }
    assert.deepEqual(stray, []);
  });

  it('reports a cut gzip stream as a warning and keeps the frames before it', async () => {
    const gz = gzipSync(
      pcapFile(Array.from({ length: 2000 }, () => ({ data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2, 500) }))),
    );
    const { frames: seen, summary } = await read(writeTemp('cut.pcap.gz', gz.subarray(0, gz.length / 2)));
    assert.ok(seen.length > 0 && seen.length < 2000);
    assert.ok(summary.warnings.length >= 1);
  });
});

// Minimal little-endian pcapng block writers for the tests above.
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const b = Buffer.alloc(12 + padded.length);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(b.length, 4);
  padded.copy(b, 8);
  b.writeUInt32LE(b.length, b.length - 4);
  return b;
}
function pcapng(blocks: Buffer[]): Buffer {
  return Buffer.concat(blocks);
}
function shb(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.writeBigInt64LE(-1n, 8);
  return block(0x0a0d0d0a, body);
}
function opt(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}
function int64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
}
function idb(linkType: number, options: Buffer[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(linkType, 0);
  head.writeUInt32LE(65535, 4);
  return block(1, Buffer.concat([head, ...options, ...(options.length > 0 ? [Buffer.alloc(4)] : [])]));
}
function epb(iface: number, ticks: bigint, data: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(iface, 0);
  head.writeUInt32LE(Number(ticks >> 32n), 4);
  head.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
  head.writeUInt32LE(data.length, 12);
  head.writeUInt32LE(data.length, 16);
  return block(6, Buffer.concat([head, data]));
}
function opb(iface: number, ticks: bigint, data: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt16LE(iface, 0);
  head.writeUInt32LE(Number(ticks >> 32n), 4);
  head.writeUInt32LE(Number(ticks & 0xffffffffn), 8);
  head.writeUInt32LE(data.length, 12);
  head.writeUInt32LE(data.length, 16);
  return block(2, Buffer.concat([head, data]));
}
function spb(data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(data.length, 0);
  return block(3, Buffer.concat([head, data]));
}
