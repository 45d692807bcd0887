import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { WindowDocument } from '../../capture/window-document.js';

const MAX_BACKOFF_MS = 30_000;

/**
 * What became of one delivery: taken (or already held) by the far end, refused for good (the reason is
 * said), or to be retried later.
 */
export type Delivery = { taken: true } | { refused: string } | { retry: string };

/** Sends one spooled window (its file name and JSON bytes) to wherever windows go. */
export interface Deliverer {
  /** For messages: `aggregator http://agg:7411`, `NATS stream SKYPLAN_WINDOWS`. */
  readonly name: string;
  deliver(file: string, body: Buffer<ArrayBuffer>, doc: { id: string; collector: string }): Promise<Delivery>;
  close(): Promise<void>;
}

/**
 * Delivers windows in order, at least once: each window is written to the spool directory (fsynced)
 * before it is sent and deleted once the far end took it, so windows survive an unreachable aggregator or
 * broker and a restart of this collector. The far end knows window ids, which makes resends harmless.
 */
export class SpoolSink {
  private readonly queue: string[] = [];
  private sending = false;
  private backoffMs = 500;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly idle: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly deliverer: Deliverer,
    private readonly spoolDir: string,
    private readonly warn: (text: string) => void,
  ) {
    mkdirSync(spoolDir, { recursive: true });
    // Windows a previous run could not deliver go first, oldest first.
    for (const name of readdirSync(spoolDir)
      .filter((n) => n.endsWith('.json'))
      .sort())
      this.queue.push(name);
    this.pump();
  }

  get pending(): number {
    return this.queue.length;
  }

  write(doc: WindowDocument): void {
    // The collector is part of the name so that one spool can hold several collectors' windows (a relay,
    // a test) without one overwriting another's; sorting keeps each collector's own order.
    const collector = doc.collector.replace(/[^A-Za-z0-9_.-]/g, '_');
    const name = `${collector}-${doc.instance}-${String(doc.seq).padStart(12, '0')}.json`;
    const fd = openSync(join(this.spoolDir, name), 'w');
    try {
      writeSync(fd, JSON.stringify(doc));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.queue.push(name);
    this.pump();
  }

  /** Resolves when everything spooled was delivered, or after `timeoutMs` (what is left stays spooled). */
  drain(timeoutMs: number): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.pump();
      }
    });
  }

  /** Stops retrying (the spool keeps what was not delivered). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.queue.length = 0;
    await this.deliverer.close();
  }

  private pump(): void {
    if (this.closed || this.sending || this.retryTimer !== undefined) return;
    const name = this.queue[0];
    if (name === undefined) {
      for (const f of this.idle.splice(0)) f();
      return;
    }
    this.sending = true;
    this.send(name).then(
      (delivered) => {
        this.sending = false;
        if (delivered) {
          this.queue.shift();
          this.backoffMs = 500;
          this.pump();
        } else this.retryLater();
      },
      (err: Error) => {
        this.sending = false;
        this.warn(
          `${this.deliverer.name} unreachable (${err.cause ?? err.message}): ${this.queue.length} windows spooled, retrying`,
        );
        this.retryLater();
      },
    );
  }

  private retryLater(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  /** True when the window left the spool: taken, or refused for good. */
  private async send(name: string): Promise<boolean> {
    const path = join(this.spoolDir, name);
    const body = readFileSync(path);
    const { id, collector } = JSON.parse(body.toString('utf8')) as { id: string; collector: string };
    const outcome = await this.deliverer.deliver(name, body, { id, collector });
    if ('taken' in outcome) {
      unlinkSync(path);
      return true;
    }
    if ('refused' in outcome) {
      // Retrying a window the far end refuses would block every later one: set it aside, say so.
      mkdirSync(join(this.spoolDir, 'refused'), { recursive: true });
      renameSync(path, join(this.spoolDir, 'refused', name));
      this.warn(
        `${this.deliverer.name} refused window ${name} (${outcome.refused}); kept in ${this.spoolDir}/refused`,
      );
      return true;
    }
    this.warn(`${this.deliverer.name}: ${outcome.retry} for window ${name}; retrying`);
    return false;
  }
}
