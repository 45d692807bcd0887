import { execFileSync, spawn } from 'node:child_process';
import type { Lab } from './lab.js';

/** A reducer: accepts partitions on port 7000 and says when it listens. */
const REDUCER = "require('net').createServer((c) => c.resume()).listen(7000, () => console.log('up'));";

/** A mapper: sends one partition to a reducer and waits until it is delivered. */
function mapper(reducer: string, bytes: number): string {
  return `const c = require('net').connect(7000, '${reducer}', () => c.end(Buffer.alloc(${bytes}, 7))); c.on('close', () => process.exit(0));`;
}

/**
 * A MapReduce-like shuffle over plain TCP sockets, not MPI: the lab's first two VMs map and send a
 * partition of `bytes` to each of the other two, which reduce. Returns the bytes each mapper sent.
 */
export async function runShuffle(lab: Lab, bytes: number): Promise<Map<string, number>> {
  const reducers = lab.vms.slice(2);
  const listening = reducers.map((r) =>
    spawn('ip', ['netns', 'exec', r.namespace, process.execPath, '-e', REDUCER], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  try {
    await Promise.all(listening.map((r) => new Promise((resolve) => r.stdout?.once('data', resolve))));
    const truth = new Map<string, number>();
    for (const m of lab.vms.slice(0, 2))
      for (const r of reducers) {
        execFileSync('ip', ['netns', 'exec', m.namespace, process.execPath, '-e', mapper(r.ip, bytes)]);
        truth.set(`${m.name}>${r.name}`, bytes);
      }
    return truth;
  } finally {
    for (const r of listening) r.kill();
  }
}
