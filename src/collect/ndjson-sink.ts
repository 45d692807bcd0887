import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WindowDocument } from '../../capture/window-document.js';

/**
 * Windows as NDJSON lines: to stdout, or appended to one file per collector and UTC day in a directory
 * (so a collector that runs for weeks leaves files an operator can rotate away).
 */
export class NdjsonSink {
  constructor(private readonly dir: string | undefined) {
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
  }

  write(doc: WindowDocument): void {
    const line = `${JSON.stringify(doc)}\n`;
    if (this.dir === undefined) {
      process.stdout.write(line);
      return;
    }
    const day = new Date(doc.window.index * doc.window.seconds * 1000).toISOString().slice(0, 10);
    appendFileSync(join(this.dir, `${doc.collector}-${day}.ndjson`), line);
  }
}
