import { createHash, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countProblem } from '../../capture/flow-export/exported-flow.js';
import { FlowExportDecoder, OTHER_EXPORTERS } from '../../capture/flow-export/flow-export-decoder.js';
import { type Aggregator, RefusedWindow } from './aggregator.js';
import { readWindow } from './read-window.js';
import type { WindowJournal } from './window-journal.js';

/** A window of 10k flows is ~0.3 MB; this bound only stops a runaway or hostile body. */
const MAX_BODY_BYTES = 64 << 20;
/** Flow records timed ahead of the clock: counted (at arrival), unlike the problems that drop a record. */
const AHEAD = 'clock:ahead_counted_at_arrival';
/** All bodies being received at once: memory stays bounded whatever the number of senders. */
const MAX_BODIES_BYTES = 128 << 20;

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * The aggregator's network edge: collectors POST windows over HTTP (`/v1/windows`), flow exporters send
 * UDP datagrams, and anyone GETs the current graph (`/v1/graph`) or the sources' status (`/v1/status`).
 */
export class CollectServer {
  readonly flowDecoder = new FlowExportDecoder();
  private http: Server | undefined;
  private udp: Socket | undefined;
  refused = 0;
  /** Bytes of request bodies being received now. */
  private bodyBytes = 0;

  constructor(
    private readonly aggregator: Aggregator,
    private readonly graphJson: () => string,
    private readonly warn: (text: string) => void,
    /** When set, every HTTP request must carry `Authorization: Bearer <token>`. */
    private readonly token?: string,
    /** When set, each window taken is written there before the collector hears it was. */
    private readonly journal?: WindowJournal,
  ) {}

  async listenHttp(at: ListenAddress): Promise<AddressInfo> {
    // A client that dribbles its headers holds a socket: it has 10 s to send them (Node's default is
    // 60 s, checked every 30 s), and 2 minutes for the whole request (a 64 MB window over a slow link).
    const server = createServer(
      { headersTimeout: 10_000, requestTimeout: 120_000, connectionsCheckingInterval: 1000 },
      (req, res) => {
        this.route(req, res).catch((err: Error) => reply(res, 500, { error: err.message }));
      },
    );
    this.http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, resolve);
    });
    return server.address() as AddressInfo;
  }

  async listenFlows(at: ListenAddress): Promise<AddressInfo> {
    const socket = createSocket(at.host.includes(':') ? 'udp6' : 'udp4');
    this.udp = socket;
    socket.on('message', (msg, rinfo) => {
      const flows = this.flowDecoder.decode(msg, rinfo.address, Date.now() / 1000);
      const stats = () =>
        this.flowDecoder.stats.get(rinfo.address) ?? this.flowDecoder.stats.get(OTHER_EXPORTERS);
      try {
        const ahead = flows.length > 0 ? this.aggregator.addExportedFlows(rinfo.address, flows) : 0;
        const s = stats();
        if (s !== undefined && ahead > 0) countProblem(s, AHEAD, ahead);
      } catch (err) {
        if (!(err instanceof RefusedWindow)) throw err;
        const s = stats();
        if (s !== undefined) countProblem(s, 'unsupported:too_many_sources');
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(at.port, at.host, resolve);
    });
    // Exporters send in bursts at their timeouts: a roomy socket buffer keeps the kernel from dropping them.
    try {
      socket.setRecvBufferSize(16 << 20);
    } catch {
      this.warn('could not enlarge the UDP receive buffer (net.core.rmem_max): bursts may be dropped');
    }
    return socket.address();
  }

  /** What the flow exporters sent, per exporter: datagrams, records, and each problem by name. */
  exportProblems(): string[] {
    const lines: string[] = [];
    for (const [exporter, s] of this.flowDecoder.stats) {
      const { [AHEAD]: ahead, ...dropped } = s.problems;
      const problems = Object.entries(dropped);
      if (problems.length > 0)
        lines.push(
          `exporter ${exporter}: ${s.datagrams} datagrams, dropped: ${problems.map(([k, n]) => `${k} ${n}`).join(', ')}`,
        );
      if (ahead !== undefined)
        lines.push(
          `exporter ${exporter}: ${ahead} flow records timed ahead of this aggregator's clock were counted at the time they arrived (check the exporter's clock)`,
        );
    }
    return lines;
  }

  close(): Promise<void> {
    this.udp?.close();
    const http = this.http;
    if (http === undefined) return Promise.resolve();
    http.closeAllConnections();
    return new Promise((resolve) => http.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.token !== undefined && !sameSecret(req.headers.authorization ?? '', `Bearer ${this.token}`)) {
      return reply(res, 401, { error: 'missing or wrong bearer token (sky-plan capture --token-file)' });
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/windows') return this.takeWindow(req, res);
    if (req.method === 'GET' && path === '/v1/graph') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(this.graphJson());
      return;
    }
    if (req.method === 'GET' && path === '/v1/status') {
      const analysis = this.aggregator.analysis();
      return reply(res, 200, {
        sources: analysis.captures,
        duplicateWindows: this.aggregator.duplicateWindows,
        refusedWindows: this.refused,
        exporters: Object.fromEntries(this.flowDecoder.stats),
      });
    }
    reply(res, 404, { error: 'try POST /v1/windows, GET /v1/graph or GET /v1/status' });
  }

  /**
   * A request's body as text, or undefined once it has been answered (too large, or too many at once).
   * Bodies held at once are bounded in total: a body that says its length reserves it before it is
   * read, and is read straight into one buffer of that size (no list of chunks to join: a 60 MB body
   * once took three copies of itself at its peak).
   */
  private async readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
    const declared = Number(req.headers['content-length']);
    const refuse = (status: 413 | 429) => {
      this.refused += status === 413 ? 1 : 0;
      if (status === 429) res.setHeader('retry-after', '1');
      reply(
        res,
        status,
        status === 413
          ? { error: `window larger than ${MAX_BODY_BYTES} bytes` }
          : { error: 'too many windows arriving at once; send it again' },
      );
      req.destroy();
      return undefined;
    };
    if (Number.isSafeInteger(declared) && declared >= 0) {
      if (declared > MAX_BODY_BYTES) return refuse(413);
      // Many large bodies at once: this one waits its turn at the collector, which retries a 429.
      if (this.bodyBytes + declared > MAX_BODIES_BYTES) return refuse(429);
      this.bodyBytes += declared;
      try {
        const buffer = Buffer.allocUnsafe(declared);
        let size = 0;
        for await (const chunk of req) {
          const c = chunk as Buffer;
          if (size + c.length > declared) return refuse(413);
          c.copy(buffer, size);
          size += c.length;
        }
        return buffer.toString('utf8', 0, size);
      } finally {
        this.bodyBytes -= declared;
      }
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        const n = (chunk as Buffer).length;
        size += n;
        if (size > MAX_BODY_BYTES) return refuse(413);
        if (this.bodyBytes + n > MAX_BODIES_BYTES) return refuse(429);
        this.bodyBytes += n;
        chunks.push(chunk as Buffer);
      }
    } finally {
      this.bodyBytes -= chunks.reduce((sum, c) => sum + c.length, 0);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async takeWindow(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readBody(req, res);
    if (body === undefined) return;
    let doc: ReturnType<typeof readWindow>;
    try {
      doc = readWindow(JSON.parse(body));
    } catch (err) {
      this.refused++;
      this.warn(`refused a window from ${req.socket.remoteAddress}: ${(err as Error).message}`);
      return reply(res, 400, { error: (err as Error).message });
    }
    let taken: boolean;
    try {
      taken = this.aggregator.addWindow(doc);
    } catch (err) {
      if (!(err instanceof RefusedWindow)) throw err;
      this.refused++;
      return reply(res, 400, { error: err.message });
    }
    // A write error answers 500: the collector keeps the window and sends it again.
    if (taken) this.journal?.append(body.includes('\n') ? JSON.stringify(doc) : body);
    reply(res, 200, { id: doc.id, status: taken ? 'taken' : 'duplicate' });
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
