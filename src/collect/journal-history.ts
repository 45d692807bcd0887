import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { WindowDocument } from '../../capture/window-document.js';
import { UserError } from '../errors.js';
import type { TimeRange, WindowHistory } from '../store/window-store.js';
import { readWindow } from './read-window.js';

/**
 * The embedded history, no server needed: NDJSON window files, the single `collect`'s journal or
 * `capture --out`'s files. Each collector's windows are in the order it sent them, as the files hold them.
 */
export class JournalHistory implements WindowHistory {
  constructor(
    private readonly path: string,
    private readonly warn: (text: string) => void,
  ) {}

  async *windows(range: TimeRange): AsyncIterable<WindowDocument> {
    const stream = createReadStream(this.path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) =>
        reject(new UserError('cannot_read', `cannot read ${this.path}: ${err.message}`)),
      );
    });
    let line = 0;
    for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
      line++;
      if (text.trim() === '') continue;
      let doc: WindowDocument;
      try {
        doc = readWindow(JSON.parse(text));
      } catch (err) {
        this.warn(`${this.path}:${line}: not a window: ${(err as Error).message}; skipped`);
        continue;
      }
      const start = doc.window.index * doc.window.seconds;
      if (start >= range.since && start < range.until) yield doc;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
