import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.js';
import type { Aggregator } from './aggregator.js';
import { readWindow } from './read-window.js';

/** Feeds an NDJSON file of windows to the aggregator; a bad line is named and skipped, the rest still counts. */
export async function readWindowFile(
  path: string,
  aggregator: Aggregator,
  warn: (text: string) => void,
): Promise<void> {
  const stream = createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new UserError('cannot_read', `cannot read ${path}: ${(err as Error).message}`);
  }
  let line = 0;
  let taken = 0;
  // Problems before the first window are held: a file with no window at all is the wrong file (an error),
  // one with some is damaged (warnings).
  const held: string[] = [];
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    try {
      aggregator.addWindow(readWindow(JSON.parse(text)));
      if (taken++ === 0) for (const problem of held.splice(0)) warn(`${problem}; skipped`);
    } catch (err) {
      const problem = `${path}:${line}: not a window: ${(err as Error).message}`;
      if (taken > 0) warn(`${problem}; skipped`);
      else if (held.length < 100) held.push(problem);
    }
  }
  if (taken === 0 && held.length > 0)
    throw new UserError('not_windows', `${held[0]} (no line of ${path} is a sky-plan window)`);
}
