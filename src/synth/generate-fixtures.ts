import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FIXTURE_SIZE } from './cluster-scenario.js';
import { writeCluster } from './write-cluster.js';

/**
 * `npm run fixtures`: regenerates fixtures/cluster (the bundled multi-cloud cluster capture, gzip-compressed,
 * and its inventory). The test suite regenerates it too and fails if the committed copy differs.
 */
const dir = process.argv[2] ?? 'fixtures/cluster';
const written = writeCluster(dir, FIXTURE_SIZE);
const pcap = join(dir, 'cluster.pcap');
writeFileSync(`${pcap}.gz`, gzipSync(readFileSync(pcap), { level: 9 }));
rmSync(pcap);
process.stdout.write(`${dir}: ${written.frames} frames, ${written.scenario.vms.length} VMs\n`);
