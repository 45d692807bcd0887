import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fixture } from '../helpers.js';
import { LAB_JOBS } from './jobs.js';
import { Lab } from './lab.js';

/**
 * `npm run lab:fixtures` (as root): runs the lab's jobs once and keeps their captures (headers only,
 * gzipped), the inventory and the ground truth in fixtures/lab, so the comparison also runs offline.
 */
const out = fixture('lab');
mkdirSync(out, { recursive: true });
for (const { fixture: name, run } of LAB_JOBS) {
  const lab = new Lab([{ name: 'a', vms: 4 }]);
  try {
    const capture = await lab.capture('a');
    const truth = await run(lab);
    const dropped = await lab.stopCaptures();
    if (dropped > 0) throw new Error(`${name}: tcpdump dropped ${dropped} packets`);
    writeFileSync(join(out, `${name}.pcap.gz`), gzipSync(readFileSync(capture), { level: 9 }));
    writeFileSync(join(out, `${name}.truth.json`), `${JSON.stringify(Object.fromEntries(truth), null, 1)}\n`);
    copyFileSync(lab.inventory(), join(out, 'inventory.json'));
    process.stdout.write(
      `${name}: ${execFileSync('du', ['-h', join(out, `${name}.pcap.gz`)], { encoding: 'utf8' })}`,
    );
  } finally {
    lab.destroy();
  }
}
