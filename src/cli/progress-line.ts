import type { ReadingFile } from '../analyze.js';
import { formatBytes, formatCount, formatMoney } from '../text-format.js';

/** A line is drawn only once reading has taken this long: a small input prints nothing. */
const AFTER_MS = 500;
const EVERY_MS = 250;

/**
 * `analyze`'s progress on a terminal's stderr, redrawn in place: the file (i of n), bytes read of its
 * size, frames and frames per second, and the time left at the rate so far. Not a terminal: nothing.
 */
export function readingProgress(stream: NodeJS.WriteStream): {
  onFile: ((f: ReadingFile) => void) | undefined;
  stop: () => void;
} {
  if (!stream.isTTY) return { onFile: undefined, stop: () => undefined };
  const started = performance.now();
  let file: { f: ReadingFile; at: number } | undefined;
  let drawn = false;
  const timer = setInterval(() => {
    const now = performance.now();
    if (file === undefined || now - started < AFTER_MS) return;
    const { f, at } = file;
    const seconds = Math.max(1e-3, (now - at) / 1000);
    const consumed = f.consumed();
    const frames = f.frames();
    const of =
      f.size === undefined
        ? ''
        : ` of ${formatBytes(f.size)} (${((100 * consumed) / Math.max(1, f.size)).toFixed(0)}%)`;
    const left =
      f.size === undefined || consumed === 0
        ? ''
        : `, about ${Math.ceil(((f.size - consumed) * seconds) / consumed)} s left`;
    const name = f.path.length > 40 ? `…${f.path.slice(-39)}` : f.path;
    const text = `${f.files > 1 ? `file ${f.index + 1}/${f.files} ` : ''}${name}: ${formatBytes(consumed)}${of}, ${formatCount(frames)} frames, ${formatCount(Math.round(frames / seconds))} frames/s${left}`;
    // A terminal that gives no width (0) gets a line of 120.
    stream.write(`\r\x1b[K${text.slice(0, Math.max(20, (stream.columns || 120) - 1))}`);
    drawn = true;
  }, EVERY_MS);
  timer.unref();
  return {
    onFile: (f) => {
      file = { f, at: performance.now() };
    },
    stop: () => {
      clearInterval(timer);
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/**
 * A long command's phase on a terminal's stderr (`plan` on a large graph: reading, solving, the best
 * cost so far), redrawn in place with the time since the start, and cleared at the end. A phase told
 * while the solver holds the thread is drawn at once; the timer redraws the time between phases.
 */
export function phaseProgress(
  stream: NodeJS.WriteStream,
  command: string,
): {
  phase: (text: string, bestCost?: number) => void;
  stop: () => void;
} {
  if (!stream.isTTY) return { phase: () => undefined, stop: () => undefined };
  const started = performance.now();
  let current = '';
  let drawn = false;
  const draw = () => {
    const seconds = (performance.now() - started) / 1000;
    if (current === '' || seconds * 1000 < AFTER_MS) return;
    stream.write(
      `\r\x1b[K${`${command}: ${current} (${seconds.toFixed(1)} s)`.slice(0, Math.max(20, (stream.columns || 120) - 1))}`,
    );
    drawn = true;
  };
  const timer = setInterval(draw, EVERY_MS);
  timer.unref();
  return {
    phase: (text, bestCost) => {
      current = bestCost === undefined ? text : `${text}; best so far ${formatMoney(bestCost)}`;
      draw();
    },
    stop: () => {
      clearInterval(timer);
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
