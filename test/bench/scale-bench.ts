import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { WindowDocument } from '../../capture/window-document.js';
import { ensureStream } from '../../src/collect/nats-sink.js';
import { windowSubject } from '../../src/collect/nats-target.js';
import { Background } from '../collect/background.js';
import { ClickHouseServer, NatsCluster } from '../collect/servers.js';
import { clusterWindows } from '../collect/synthetic-windows.js';
import { CLI, tempDir } from '../helpers.js';

/**
 * `npm run bench:scale`: windows of 100 and 1,000 simulated collectors (about 10,000 flow rows each)
 * through a 3-node NATS JetStream cluster into ClickHouse, by 1 and by 2 aggregator replicas, against the
 * single-process `collect` of the same windows measured in the same run. CPU is counted from /proc: the
 * aggregators' own, and the whole machine's (aggregators, NATS and ClickHouse together) for the scale-out
 * path. Then the latency from a window's acknowledged publish to its edges in `graph --from clickhouse`.
 */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function machineCpuSeconds(): number {
  const cpu =
    readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system (idle iowait) irq softirq steal
  const busy = [0, 1, 2, 5, 6, 7].reduce((s, i) => s + (cpu[i] ?? 0), 0);
  return busy / TICKS;
}

/** `collect FILE` in one process: wall and CPU seconds from GNU time. */
function baseline(file: string, inventory: string): { wall: number; cpu: number } {
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S', process.execPath, CLI, 'collect', file, '--inventory', inventory, '--json'],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`collect failed: ${r.stderr}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) };
}

async function publishAll(url: string[], creds: [string, string], docs: string[][]) {
  const nc = await connect({ servers: url, user: creds[0], pass: creds[1], maxReconnectAttempts: -1 });
  const js = jetstream(nc);
  for (let i = 0; i < docs.length; i += 32)
    await Promise.all(
      docs
        .slice(i, i + 32)
        .map(([subject, id, body]) =>
          js.publish(subject as string, body as string, { msgID: id as string, timeout: 30_000 }),
        ),
    );
  await nc.close();
}

async function main(): Promise<void> {
  const dir = tempDir();
  const user = 'bench';
  const password = 'bench-pw';
  const credsFile = join(dir, 'nats.creds');
  const chPasswordFile = join(dir, 'ch.password');
  writeFileSync(credsFile, `${user}:${password}\n`);
  writeFileSync(chPasswordFile, `${password}\n`);
  const nats = await NatsCluster.start(join(dir, 'nats'), 3, user, password);
  const clickhouse = await ClickHouseServer.start(join(dir, 'clickhouse'), password);
  const servers = nats.clientPorts.map((p) => `127.0.0.1:${p}`);
  const storeUrl = (db: string) => `clickhouse://default@127.0.0.1:${clickhouse.httpPort}/${db}`;
  const stored = async (db: string) =>
    Number((await clickhouse.query(`SELECT uniqExact(id) FROM ${db}.sky_windows`).catch(() => '0')).trim());
  console.log(
    `3-node NATS JetStream (R3 stream), ClickHouse ${(await clickhouse.query('SELECT version()')).trim()}`,
  );
  try {
    for (const collectors of [100, 1000]) {
      // Flows between two captured hosts are in both hosts' windows: 5,000 conversations per host make
      // about 10,000 rows per window.
      const { windows, inventory } = clusterWindows({
        hosts: collectors,
        vmsPerHost: 10,
        flowsPerWindow: 5000,
        windows: 1,
        seed: collectors,
      });
      const flows = windows.reduce((s, w) => s + w.flows.length, 0);
      const inventoryFile = join(dir, `inventory-${collectors}.json`);
      const windowsFile = join(dir, `windows-${collectors}.ndjson`);
      writeFileSync(inventoryFile, JSON.stringify(inventory));
      const bodies = windows.map((w) => JSON.stringify(w));
      writeFileSync(windowsFile, `${bodies.join('\n')}\n`);
      const messages = windows.map((w, i) => [windowSubject(`B${collectors}`, w.collector), w.id, bodies[i]]);
      const mb = bodies.reduce((s, b) => s + b.length, 0) / 1e6;
      console.log(
        `\n${collectors} collectors: ${windows.length} windows, ${flows} flow rows (${Math.round(flows / windows.length)} per window), ${mb.toFixed(0)} MB of JSON`,
      );

      const base = baseline(windowsFile, inventoryFile);
      const basePerCpu = flows / base.cpu;
      console.log(
        `  single-process collect: ${base.wall.toFixed(1)} s, ${(windows.length / base.wall).toFixed(0)} windows/s, ${(flows / base.wall / 1e3).toFixed(0)}k flows/s, ${(basePerCpu / 1e3).toFixed(0)}k flows per CPU-second`,
      );

      const stream = `B${collectors}`;
      const nc = await connect({ servers, user, pass: password });
      await ensureStream(await jetstreamManager(nc), stream, { replicas: 3, maxAgeSeconds: 3600 });
      await nc.close();
      const t = Date.now();
      await publishAll(servers, [user, password], messages as string[][]);
      console.log(
        `  published to the stream in ${((Date.now() - t) / 1000).toFixed(1)} s (the collectors' side, not counted below)`,
      );

      const rates: number[] = [];
      for (const replicas of [1, 2]) {
        const db = `b${collectors}r${replicas}`;
        const workers = Array.from(
          { length: replicas },
          () =>
            new Background([
              'collect',
              '--from',
              `nats://${servers.join(',')}/${stream}`,
              '--consumer',
              db,
              '--nats-creds',
              credsFile,
              '--store',
              storeUrl(db),
              '--clickhouse-password-file',
              chPasswordFile,
              '--inventory',
              inventoryFile,
            ]),
        );
        await Promise.all(workers.map((w) => w.waitFor(/consuming stream/, 60_000)));
        const cpu0 = machineCpuSeconds();
        const own0 = workers.map((w) => processCpuSeconds(w.proc.pid as number));
        const t0 = Date.now();
        while ((await stored(db)) < windows.length) await sleep(100);
        const wall = (Date.now() - t0) / 1000;
        const machine = machineCpuSeconds() - cpu0;
        const own = workers.reduce(
          (s, w, i) => s + processCpuSeconds(w.proc.pid as number) - (own0[i] ?? 0),
          0,
        );
        rates.push(windows.length / wall);
        console.log(
          `  ${replicas} replica${replicas > 1 ? 's' : ''}: ${wall.toFixed(1)} s, ${(windows.length / wall).toFixed(0)} windows/s, ${(flows / wall / 1e3).toFixed(0)}k flows/s; per CPU-second: ${(flows / own / 1e3).toFixed(0)}k flows of the aggregators' CPU (${(flows / own / basePerCpu).toFixed(2)}x single-process), ${(flows / machine / 1e3).toFixed(0)}k of the machine's (${(flows / machine / basePerCpu).toFixed(2)}x)`,
        );
        if (replicas === 2) {
          console.log(`  2 replicas vs 1: ${((rates[1] ?? 0) / (rates[0] ?? 1)).toFixed(2)}x the windows/s`);
          await latency(db, windows[0] as WindowDocument, inventoryFile);
        } else {
          const r = (
            await clickhouse.query(
              `SELECT sum(rows), sum(bytes_on_disk), sum(data_uncompressed_bytes) FROM system.parts WHERE database = '${db}' AND table = 'sky_flows' AND active`,
            )
          )
            .trim()
            .split('\t')
            .map(Number);
          console.log(
            `  ClickHouse sky_flows: ${((r[1] ?? 0) / (r[0] ?? 1)).toFixed(1)} bytes on disk per flow row (${((r[2] ?? 0) / (r[0] ?? 1)).toFixed(0)} uncompressed)`,
          );
        }
        for (const w of workers) await w.stop();
      }

      /** Probes: one window each, published while the replicas idle, polled with `graph` until it shows. */
      async function latency(db: string, template: WindowDocument, inventoryFile: string): Promise<void> {
        const toGraph: number[] = [];
        const toStore: number[] = [];
        const probeNc = await connect({ servers, user, pass: password });
        for (let i = 0; i < 5; i++) {
          const index = template.window.index - 100 - i;
          const seconds = template.window.seconds;
          const doc = {
            ...template,
            id: `probe/${i}`,
            collector: 'probe',
            seq: i,
            window: { seconds, index },
          };
          const t0 = Date.now();
          await jetstream(probeNc).publish(windowSubject(stream, 'probe'), JSON.stringify(doc), {
            msgID: doc.id,
          });
          // The store first, polled finely; then `graph`, whose every poll is a whole command.
          while (
            Number(
              (
                await clickhouse.query(`SELECT count() FROM ${db}.sky_windows WHERE id = 'probe/${i}'`)
              ).trim(),
            ) === 0
          )
            await sleep(10);
          toStore.push(Date.now() - t0);
          while ((await graphEdges(db, index * seconds, (index + 1) * seconds, inventoryFile)) === 0);
          toGraph.push(Date.now() - t0);
        }
        await probeNc.close();
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
        console.log(
          `  latency, publish at window close → edges in \`graph --from clickhouse\`: median ${median(toGraph)} ms, max ${Math.max(...toGraph)} ms (each poll is a whole graph command); → row in sky_windows: median ${median(toStore)} ms`,
        );
      }
    }
  } finally {
    Background.killAll();
    await nats.stop();
    await clickhouse.stop();
  }

  function graphEdges(db: string, since: number, until: number, inventoryFile: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const iso = (s: number) => new Date(s * 1000).toISOString();
      const p = spawn(process.execPath, [
        CLI,
        'graph',
        '--from',
        storeUrl(db),
        '--clickhouse-password-file',
        chPasswordFile,
        '--inventory',
        inventoryFile,
        '--since',
        iso(since),
        '--until',
        iso(until),
        '--json',
      ]);
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      p.on('error', reject);
      p.on('exit', (code) =>
        code === 0 ? resolve((JSON.parse(out) as { edges: unknown[] }).edges.length) : resolve(0),
      );
    });
  }
}

await main();
