import { createConnection, type Socket } from 'node:net';

export class QmpError extends Error {}

/**
 * A QEMU Machine Protocol client over a unix socket: reads the greeting, negotiates capabilities, then
 * runs commands one at a time (QMP answers in order). Events are kept for whoever waits for them.
 */
export class QmpClient {
  private buffer = '';
  private readonly waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | null = null;
  readonly events: { event: string; data?: unknown }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new QmpError('QMP connection closed')));
  }

  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new QmpError(`no QMP answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new QmpError(`cannot connect to QMP socket ${path}: ${err.message}`));
      });
    });
    const client = new QmpClient(socket);
    await client.next(); // the greeting
    await client.execute('qmp_capabilities');
    return client;
  }

  /** The run state of the QEMU behind a socket (`running`, `paused`, ...), or undefined when none answers. */
  static async status(path: string): Promise<string | undefined> {
    const client = await QmpClient.connect(path, 2000).catch(() => undefined);
    if (client === undefined) return undefined;
    try {
      return (await client.execute<{ status: string }>('query-status')).status;
    } finally {
      client.close();
    }
  }

  /** Runs a command and returns its `return` value; a QMP `error` becomes a QmpError. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    this.socket.write(
      `${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`,
    );
    const reply = (await this.next()) as { return?: T; error?: { class: string; desc: string } };
    if (reply.error !== undefined)
      throw new QmpError(`${command}: ${reply.error.desc} (${reply.error.class})`);
    return reply.return as T;
  }

  close(): void {
    this.socket.destroy();
  }

  private next(): Promise<unknown> {
    if (this.closed !== null) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      const message = JSON.parse(line) as { event?: string; data?: unknown };
      if (message.event !== undefined) {
        this.events.push({ event: message.event, data: message.data });
        continue;
      }
      this.waiting.shift()?.resolve(message);
    }
  }
}
