import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readCapture } from '../../capture/files/read-capture.js';
import { RotatingPcap } from '../../capture/live/rotating-pcap.js';
import { tcpFrame, tempDir } from '../helpers.js';

describe('rotating pcap output', () => {
  it('rolls over per period, keeps the newest files, and a restart never appends to a file', async () => {
    const dir = tempDir();
    const frame = tcpFrame('10.0.0.1', '10.0.0.2', 1000, 80, 100);
    const write = (times: number[]) => {
      const out = new RotatingPcap(dir, 'vnet0', 1, 96, 10, 3);
      for (const t of times) out.frame(frame, 96, frame.length, 1_700_000_000 + t);
      out.close();
    };
    write([0.5, 5, 12, 25, 31]);
    write([33]);
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, [
      'vnet0-20231114T221340Z.pcap',
      'vnet0-20231114T221350Z-1.pcap',
      'vnet0-20231114T221350Z.pcap',
    ]);
    const frames: { ts: number; caplen: number; origLen: number }[] = [];
    for (const f of files) {
      await readCapture(join(dir, f), {
        frame: (_d, _o, caplen, origLen, ts) => frames.push({ ts: ts - 1_700_000_000, caplen, origLen }),
      });
    }
    assert.deepEqual(
      frames.map((f) => [Math.round(f.ts), f.caplen, f.origLen]),
      [
        [25, 96, frame.length],
        [33, 96, frame.length],
        [31, 96, frame.length],
      ],
    );
  });
});
