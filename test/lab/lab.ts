import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ROOT, tempDir } from '../helpers.js';

/** A VM of the lab: a network namespace on a cloud's bridge. */
export interface LabVm {
  name: string;
  namespace: string;
  cloud: string;
  ip: string;
  mac: string;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/**
 * A testbed on one machine: one Linux bridge per cloud in hub mode (no MAC learning, so a capture on
 * the bridge sees every frame once, as a hypervisor's switch would), network namespaces as VMs, and
 * clouds joined by a veth pair rate-limited with tc tbf. Names carry a per-lab prefix.
 */
export class Lab {
  private static count = 0;
  readonly dir = tempDir();
  readonly vms: LabVm[] = [];
  private readonly prefix = `s${process.pid % 10000}${String.fromCharCode(97 + (Lab.count++ % 26))}`;
  private readonly bridges: string[] = [];
  private readonly captures: { child: ChildProcess; stderr: string[] }[] = [];

  constructor(clouds: { name: string; vms: number }[], link?: { rateMbit: number }) {
    let n = 0;
    clouds.forEach((cloud, c) => {
      const bridge = this.bridge(cloud.name);
      ip('link', 'add', bridge, 'type', 'bridge', 'ageing_time', '0');
      ip('link', 'set', bridge, 'up');
      this.bridges.push(bridge);
      // The launcher (mpirun) reaches the VMs through the first bridge.
      if (c === 0) ip('addr', 'add', '10.77.0.254/24', 'dev', bridge);
      for (let i = 0; i < cloud.vms; i++, n++) {
        const vm: LabVm = {
          name: `vm${n}`,
          namespace: `${this.prefix}-vm${n}`,
          cloud: cloud.name,
          ip: `10.77.0.${10 + n}`,
          mac: `02:77:00:00:00:${(0x10 + n).toString(16)}`,
        };
        const port = `${this.prefix}v${n}`;
        ip('netns', 'add', vm.namespace);
        ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm.namespace);
        ip('link', 'set', port, 'master', bridge, 'up');
        ip('-n', vm.namespace, 'link', 'set', 'eth0', 'address', vm.mac);
        ip('-n', vm.namespace, 'addr', 'add', `${vm.ip}/24`, 'dev', 'eth0');
        ip('-n', vm.namespace, 'link', 'set', 'eth0', 'up');
        ip('-n', vm.namespace, 'link', 'set', 'lo', 'up');
        this.vms.push(vm);
      }
    });
    if (link !== undefined && this.bridges.length === 2) {
      // The WAN between the two clouds: a veth pair, each end rate-limited (netem is not available here).
      const [a, b] = [`${this.prefix}wa`, `${this.prefix}wb`];
      ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
      ip('link', 'set', a, 'master', this.bridges[0] as string, 'up');
      ip('link', 'set', b, 'master', this.bridges[1] as string, 'up');
      for (const end of [a, b])
        execFileSync('tc', [
          'qdisc',
          'add',
          'dev',
          end,
          'root',
          'tbf',
          'rate',
          `${link.rateMbit}mbit`,
          'burst',
          '64kb',
          'latency',
          '200ms',
        ]);
    }
  }

  private bridge(cloud: string): string {
    return `${this.prefix}-${cloud}`.slice(0, 15);
  }

  /** Starts tcpdump on a cloud's bridge, headers only (lengths are what counts); resolves once it listens. */
  async capture(cloud: string): Promise<string> {
    const file = join(this.dir, `${cloud}-${this.captures.length}.pcap`);
    // A large kernel buffer (-B, KiB) the lab's bursts cannot overrun; immediate mode, or packets still
    // waiting for libpcap's timeout are lost when the capture stops.
    const child = spawn(
      'tcpdump',
      ['-i', this.bridge(cloud), '-w', file, '-s', '200', '-B', '65536', '--immediate-mode'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const stderr: string[] = [];
    this.captures.push({ child, stderr });
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d: Buffer) => {
        stderr.push(d.toString());
        if (stderr.join('').includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`tcpdump exited with ${code}: ${stderr.join('')}`)));
    });
    return file;
  }

  /** Stops the captures; returns how many packets the kernel dropped (tcpdump's own count). */
  async stopCaptures(): Promise<number> {
    await sleep(1000);
    const dropped = await Promise.all(
      this.captures.map(
        ({ child, stderr }) =>
          new Promise<number>((resolve) => {
            child.once('exit', () =>
              resolve(Number(/(\d+) packets? dropped by kernel/.exec(stderr.join(''))?.[1] ?? 0)),
            );
            child.kill('SIGINT');
          }),
      ),
    );
    this.captures.length = 0;
    return dropped.reduce((s, x) => s + x, 0);
  }

  /** The inventory of the lab's VMs, as sky-plan reads it. */
  inventory(): string {
    const path = join(this.dir, 'inventory.json');
    const clouds = [...new Set(this.vms.map((v) => v.cloud))].map((name) => ({ name }));
    const vms = this.vms.map((v) => ({
      name: v.name,
      cloud: v.cloud,
      host: `hv-${v.cloud}`,
      nics: [{ mac: v.mac, ips: [v.ip] }],
    }));
    writeFileSync(path, JSON.stringify({ clouds, vms }));
    return path;
  }

  /**
   * Runs the MPI job, one rank per VM (all of them, or `o.vms`), over TCP on the lab subnet, with Open
   * MPI's pml monitoring on; resolves with its ground truth, bytes each VM sent each other ("vmI>vmJ"),
   * and what the job printed. Jobs on disjoint VMs can run at once.
   */
  async runMpi(
    mode: 'ring' | 'alltoall' | 'switch',
    size: number,
    iterations: number,
    o: { vms?: LabVm[]; pauseMs?: number } = {},
  ): Promise<{ truth: Map<string, number>; stdout: string }> {
    const binary = join(this.dir, 'mpi-pattern');
    if (!existsSync(binary))
      execFileSync('mpicc', ['-O2', '-o', binary, join(ROOT, 'test/lab/mpi-pattern.c')]);
    const vms = o.vms ?? this.vms;
    const job = `${mode}-${vms[0]?.name ?? ''}`;
    const hostfile = join(this.dir, `hosts-${job}`);
    writeFileSync(hostfile, vms.map((v) => `${v.namespace} slots=1\n`).join(''));
    const prof = join(this.dir, `prof-${job}`);
    const mca = {
      plm_rsh_agent: join(ROOT, 'test/lab/netns-rsh'),
      btl: 'tcp,self',
      btl_tcp_if_include: '10.77.0.0/24',
      oob_tcp_if_include: '10.77.0.0/24',
      pml_monitoring_enable: '1',
      pml_monitoring_enable_output: '3',
      pml_monitoring_filename: prof,
      // A session directory per job: the namespaces share /tmp, and jobs must not meet in it.
      orte_tmpdir_base: join(this.dir, `orte-${job}-${Date.now()}`),
    };
    const args = ['--allow-run-as-root', '--hostfile', hostfile, '-np', String(vms.length)];
    for (const [k, v] of Object.entries(mca)) args.push('--mca', k, v);
    const argv = [binary, mode, String(size), String(iterations), String(o.pauseMs ?? 0)];
    // PMIx's shared-memory store trips over namespaces now and then; the hash store does not.
    const { stdout } = await promisify(execFile)('mpirun', [...args, ...argv], {
      env: { ...process.env, PMIX_MCA_gds: 'hash' },
      timeout: 120_000,
    });
    const truth = new Map<string, number>();
    for (const f of readdirSync(this.dir).filter((f) => f.startsWith(`prof-${job}.`))) {
      for (const m of readFileSync(join(this.dir, f), 'utf8').matchAll(/^E\t(\d+)\t(\d+)\t(\d+) bytes/gm)) {
        const key = `${vms[Number(m[1])]?.name}>${vms[Number(m[2])]?.name}`;
        truth.set(key, (truth.get(key) ?? 0) + Number(m[3]));
      }
    }
    return { truth, stdout };
  }

  destroy(): void {
    for (const { child } of this.captures) child.kill('SIGKILL');
    for (const vm of this.vms) spawnSync('ip', ['netns', 'del', vm.namespace]);
    for (const b of this.bridges) spawnSync('ip', ['link', 'del', b]);
    spawnSync('ip', ['link', 'del', `${this.prefix}wa`]);
  }
}

/** Cosine similarity and total-variation distance between two VM × VM byte matrices. */
export function compareMatrices(
  measured: Map<string, number>,
  truth: Map<string, number>,
): { cosine: number; tvd: number } {
  const keys = [...new Set([...measured.keys(), ...truth.keys()])];
  const m = keys.map((k) => measured.get(k) ?? 0);
  const t = keys.map((k) => truth.get(k) ?? 0);
  const dot = m.reduce((s, x, i) => s + x * (t[i] as number), 0);
  const norm = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
  const sm = m.reduce((s, x) => s + x, 0);
  const st = t.reduce((s, x) => s + x, 0);
  return {
    cosine: dot / (norm(m) * norm(t)),
    tvd: 0.5 * m.reduce((s, x, i) => s + Math.abs(x / sm - (t[i] as number) / st), 0),
  };
}
