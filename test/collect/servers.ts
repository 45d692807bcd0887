import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';

/** A port nothing listens on now (the kernel's pick), for a server a test starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopProcess(proc: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

/** A JetStream cluster of `size` nats-server processes on loopback, user and password required. */
export class NatsCluster {
  readonly clientPorts: number[] = [];
  private readonly procs: (ChildProcess | undefined)[] = [];

  private constructor(
    private readonly dir: string,
    readonly user: string,
    readonly password: string,
  ) {}

  static async start(dir: string, size: number, user: string, password: string): Promise<NatsCluster> {
    const cluster = new NatsCluster(dir, user, password);
    const routes: number[] = [];
    for (let i = 0; i < size; i++) {
      cluster.clientPorts.push(await freePort());
      routes.push(await freePort());
    }
    for (let i = 0; i < size; i++) {
      mkdirSync(join(dir, `js${i}`), { recursive: true });
      writeFileSync(
        join(dir, `n${i}.conf`),
        [
          `server_name: n${i}`,
          `listen: 127.0.0.1:${cluster.clientPorts[i]}`,
          `authorization { user: "${user}", password: "${password}" }`,
          `jetstream { store_dir: "${join(dir, `js${i}`)}" }`,
          `cluster { name: sky, listen: 127.0.0.1:${routes[i]}, routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}] }`,
        ].join('\n'),
      );
    }
    for (let i = 0; i < size; i++) cluster.procs.push(undefined);
    await Promise.all(cluster.procs.map((_, i) => cluster.startNode(i)));
    return cluster;
  }

  get url(): string {
    return `nats://${this.clientPorts.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  async startNode(i: number): Promise<void> {
    this.procs[i] = spawn('nats-server', ['-c', join(this.dir, `n${i}.conf`)], { stdio: 'ignore' });
    await waitForPort(this.clientPorts[i] as number, 15_000);
  }

  /** SIGKILL: the node dies as a crashed machine would. */
  killNode(i: number): Promise<void> {
    return stopProcess(this.procs[i], 'SIGKILL');
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => stopProcess(p, 'SIGTERM')));
  }
}

/** One clickhouse-server (Debian's 18.16) on loopback, its data in `dir`, user `default` with a password. */
export class ClickHouseServer {
  private proc: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(
    private readonly config: string,
    readonly httpPort: number,
    readonly password: string,
  ) {}

  static async start(dir: string, password: string): Promise<ClickHouseServer> {
    const [http, tcp] = [await freePort(), await freePort()];
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(
      join(dir, 'config.xml'),
      `<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path><format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>5368709120</mark_cache_size>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
</yandex>\n`,
    );
    writeFileSync(
      join(dir, 'users.xml'),
      `<yandex><profiles><default></default></profiles><quotas><default></default></quotas>
  <users><default><password>${password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
</yandex>\n`,
    );
    const server = new ClickHouseServer(join(dir, 'config.xml'), http, password);
    await server.resume();
    return server;
  }

  async resume(): Promise<void> {
    this.proc = spawn('clickhouse-server', [`--config-file=${this.config}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    await waitForPort(this.httpPort, 30_000);
  }

  /** SIGKILL: down as a crashed server is, not after a clean shutdown. */
  kill(): Promise<void> {
    return stopProcess(this.proc, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await stopProcess(this.proc, 'SIGTERM');
  }

  /** A query over HTTP, its text answer. */
  async query(sql: string): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${this.httpPort}/?user=default&password=${this.password}`, {
      method: 'POST',
      body: sql,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`ClickHouse: ${text}`);
    return text;
  }
}
