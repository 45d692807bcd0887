import { open } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CaptureError } from '../capture-error.js';

/**
 * A sequential byte stream: a plain file (read in place into the caller's buffer), a gzip file, or stdin.
 * Readers pull from it at their own pace, so memory stays flat whatever the capture's size.
 */
export interface ByteSource {
  readonly name: string;
  /** Reads up to `length` bytes into `into` at `offset`; 0 means end of input. */
  read(into: Buffer, offset: number, length: number): Promise<number>;
  /** Set when the input ended abnormally (e.g. a cut gzip stream); readers turn it into a warning. */
  readonly endWarning: string | undefined;
  /** Bytes of the input (the file as stored: compressed, for gzip) read so far, and its size if known. */
  readonly consumed: number;
  readonly size: number | undefined;
  close(): Promise<void>;
}

const GZIP_MAGIC0 = 0x1f;
const GZIP_MAGIC1 = 0x8b;

export async function openByteSource(path: string): Promise<ByteSource> {
  if (path === '-') return streamSource('stdin', process.stdin);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw openError(path, err);
  }
  const head = Buffer.alloc(2);
  let got: number;
  try {
    got = (await handle.read(head, 0, 2, 0)).bytesRead;
  } catch (err) {
    await handle.close();
    throw openError(path, err);
  }
  const size = (await handle.stat()).size;
  if (got === 2 && head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1) {
    return streamSource(path, handle.createReadStream({ start: 0 }), size);
  }
  let position = 0;
  return {
    name: path,
    endWarning: undefined,
    get consumed() {
      return position;
    },
    size,
    async read(into, offset, length) {
      const { bytesRead } = await handle.read(into, offset, length, position);
      position += bytesRead;
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

function openError(path: string, err: unknown): CaptureError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CaptureError('capture_not_found', `capture file not found: ${path}`);
  if (code === 'EACCES') return new CaptureError('capture_unreadable', `no permission to read ${path}`);
  if (code === 'EISDIR')
    return new CaptureError('capture_is_directory', `${path} is a directory, not a capture file`);
  return new CaptureError('capture_unreadable', `cannot read ${path}: ${(err as Error).message}`);
}

/** Wraps a Node stream, gunzipping it when its first bytes are the gzip magic. */
function streamSource(name: string, input: Readable, size?: number): ByteSource {
  const raw = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let consumed = 0;
  let chunks: AsyncIterator<Buffer> | undefined;
  let pending: Buffer | undefined;
  let pendingOffset = 0;
  let endWarning: string | undefined;

  async function start(): Promise<AsyncIterator<Buffer>> {
    const first = await raw.next();
    if (first.done) return raw;
    const head = first.value;
    consumed += head.length;
    async function* replay(): AsyncGenerator<Buffer> {
      yield head;
      for (let next = await raw.next(); !next.done; next = await raw.next()) {
        consumed += next.value.length;
        yield next.value;
      }
    }
    if (head[0] === GZIP_MAGIC0 && head[1] === GZIP_MAGIC1) {
      // pipeline, not pipe: when a reader stops early, `close` destroys the input while the intermediate
      // stream may still be pulling from it, and its premature-close error needs a listener. The gunzip
      // stream's own errors still reach the reader through its iterator.
      const gunzip = createGunzip();
      pipeline(Readable.from(replay()), gunzip, () => undefined);
      return gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    }
    return replay();
  }

  return {
    name,
    get endWarning() {
      return endWarning;
    },
    get consumed() {
      return consumed;
    },
    size,
    async read(into, offset, length) {
      chunks ??= await start();
      while (pending === undefined || pendingOffset >= pending.length) {
        try {
          const next = await chunks.next();
          if (next.done) return 0;
          pending = next.value;
          pendingOffset = 0;
        } catch (err) {
          endWarning = `input ended early (${(err as Error).message})`;
          return 0;
        }
      }
      const n = Math.min(length, pending.length - pendingOffset);
      pending.copy(into, offset, pendingOffset, pendingOffset + n);
      pendingOffset += n;
      return n;
    },
    async close() {
      await chunks?.return?.();
      input.destroy();
    },
  };
}
