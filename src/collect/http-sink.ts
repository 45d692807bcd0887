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
 * Delivers windows to an aggregator (`sky-plan collect`) over HTTP, in order, at least once: each window
 * is written to the spool directory (fsynced) before it is sent and deleted once the aggregator took it,
 * so windows survive an unreachable aggregator and a restart of this collector. The aggregator ignores
 * an id it already has, which makes the resends harmless.
 */
export class HttpSink {
  private readonly queue: string[] = [];
  private sending = false;
  private backoffMs = 500;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly idle: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly spoolDir: string,
    private readonly warn: (text: string) => void,
    private readonly token?: string,
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
    const name = `${doc.instance}-${String(doc.seq).padStart(12, '0')}.json`;
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
  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.queue.length = 0;
  }

  private pump(): void {
    if (this.closed || this.sending || this.retryTimer !== undefined) return;
    const name = this.queue[0];
    if (name === undefined) {
      for (const f of this.idle.splice(0)) f();
      return;
    }
    this.sending = true;
    this.post(name).then(
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
          `aggregator ${this.url} unreachable (${err.cause ?? err.message}): ${this.queue.length} windows spooled, retrying`,
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

  /** True when the window left the spool: taken (or already held) by the aggregator, or refused for good. */
  private async post(name: string): Promise<boolean> {
    const path = join(this.spoolDir, name);
    const response = await fetch(`${this.url}/v1/windows`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
      },
      body: readFileSync(path),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.ok) {
      unlinkSync(path);
      return true;
    }
    // A wrong token is this collector's configuration, not the window's fault: keep it and retry.
    const retryable = response.status === 401 || response.status === 403 || response.status === 429;
    if (response.status >= 400 && response.status < 500 && !retryable) {
      // Retrying a window the aggregator refuses would block every later one: set it aside, say so.
      mkdirSync(join(this.spoolDir, 'refused'), { recursive: true });
      renameSync(path, join(this.spoolDir, 'refused', name));
      this.warn(
        `aggregator refused window ${name} (${response.status}: ${text.trim()}); kept in ${this.spoolDir}/refused`,
      );
      return true;
    }
    this.warn(`aggregator answered ${response.status} for window ${name}; retrying`);
    return false;
  }
}
