import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

/**
 * A private Open vSwitch (Debian's openvswitch-switch): its own ovsdb-server and ovs-vswitchd with their
 * database, sockets and logs in a temporary directory, and one bridge on the userspace datapath, so no
 * kernel module is needed and the machine's own OVS, if any, is not touched.
 */
export class Ovs {
  readonly dir = tempDir();
  private readonly env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };

  constructor(readonly bridge: string) {
    const db = join(this.dir, 'conf.db');
    this.run('ovsdb-tool', 'create', db, '/usr/share/openvswitch/vswitch.ovsschema');
    this.run(
      'ovsdb-server',
      db,
      `--remote=punix:${this.socket}`,
      `--pidfile=${join(this.dir, 'ovsdb-server.pid')}`,
      '--detach',
      `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
    );
    this.vsctl('--no-wait', 'init');
    this.run(
      'ovs-vswitchd',
      `unix:${this.socket}`,
      `--pidfile=${join(this.dir, 'ovs-vswitchd.pid')}`,
      '--detach',
      `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
    );
    this.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
  }

  get socket(): string {
    return join(this.dir, 'db.sock');
  }

  vsctl(...args: string[]): string {
    return this.run('ovs-vsctl', `--db=unix:${this.socket}`, ...args);
  }

  /** sFlow from the bridge to host:port, one packet in `sampling` (packet headers, no counter polling). */
  sflow(target: string, sampling: number): void {
    this.vsctl(
      '--',
      '--id=@s',
      'create',
      'sflow',
      'agent=lo',
      `target="${target}"`,
      `sampling=${sampling}`,
      'polling=0',
      'header=128',
      '--',
      'set',
      'bridge',
      this.bridge,
      'sflow=@s',
    );
  }

  /** IPFIX flow records from the bridge to host:port, each flow's cache entry exported every second. */
  ipfix(target: string, sampling: number): void {
    this.vsctl(
      '--',
      'set',
      'bridge',
      this.bridge,
      'ipfix=@i',
      '--',
      '--id=@i',
      'create',
      'ipfix',
      `targets="${target}"`,
      `sampling=${sampling}`,
      'obs_domain_id=1',
      'obs_point_id=1',
      'cache_active_timeout=1',
      'cache_max_flows=10000',
    );
  }

  /** Stops exporting, so the next test starts from a quiet bridge. */
  clearExports(): void {
    this.vsctl('clear', 'bridge', this.bridge, 'sflow', 'ipfix');
  }

  /** Removes the bridge (and with it the tap device the userspace datapath made), then the daemons. */
  stop(): void {
    spawnSync('ovs-vsctl', [`--db=unix:${this.socket}`, 'del-br', this.bridge], { env: this.env });
    for (const daemon of ['ovs-vswitchd', 'ovsdb-server']) {
      try {
        const pid = Number(readFileSync(join(this.dir, `${daemon}.pid`), 'utf8'));
        process.kill(pid, 'SIGTERM');
      } catch {
        // not running
      }
    }
  }

  private run(command: string, ...args: string[]): string {
    const r = spawnSync(command, args, { env: this.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.error ?? r.stderr}`);
    return r.stdout;
  }
}
