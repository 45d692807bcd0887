import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';

/**
 * The windows an aggregator took, one NDJSON line each, on disk before the collector is told: replayed
 * at start (`collect --journal`), a restarted aggregator has its graph back and knows every window id.
 */
export class WindowJournal {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  append(line: string): void {
    writeSync(this.fd, `${line}\n`);
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
