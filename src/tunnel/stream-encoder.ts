import { hashKey, sha256Key } from './content-store.js';
import { FRAME, FrameWriter } from './frames.js';
import { NbdParser } from './nbd-parser.js';
import { type Passthrough, PrecopyParser } from './precopy-parser.js';

/** What the tunnel carries: a QEMU migration stream, or the client side of an NBD disk mirror. */
export type StreamProtocol = 'precopy' | 'nbd';

export interface EncoderCounters {
  streamBytes: number;
  pagesNew: number;
  pagesRef: number;
  pagesZero: number;
}

/** What the source believes the destination holds (a StorePicture). */
export interface KnownPages {
  has(key: string): boolean;
  add(key: string): void;
}

/**
 * The source side's core, without I/O: QEMU's stream in, tunnel frames out (a memory page or a 4 KiB disk
 * block alike: the destination rebuilds bytes, whatever the protocol). A page whose hash is in
 * `known` (what the destination site holds) becomes a REF, any other a NEW, which makes it known. The
 * content of referenced pages is held until the destination acknowledges them, to answer a NACK.
 */
export class StreamEncoder {
  readonly counters: EncoderCounters = { streamBytes: 0, pagesNew: 0, pagesRef: 0, pagesZero: 0 };
  private readonly out: FrameWriter;
  private readonly parser: PrecopyParser | NbdParser;
  private readonly retained = new Map<string, { content: Buffer; refs: number }>();
  /** Keys of the references sent, oldest first; those before `first` are acknowledged. */
  private readonly order: string[] = [];
  private first = 0;
  /** Acknowledged references already removed from `order`. */
  private dropped = 0;

  constructor(known: KnownPages, write: (batch: Buffer) => void, protocol: StreamProtocol = 'precopy') {
    this.out = new FrameWriter(write);
    const Parser = protocol === 'nbd' ? NbdParser : PrecopyParser;
    this.parser = new Parser({
      raw: (bytes) => this.out.raw(bytes),
      page: (header, content) => {
        const key = sha256Key(content);
        if (known.has(key)) {
          this.counters.pagesRef++;
          const held = this.retained.get(key);
          // A view, not a copy: the stream's buffers are never written to after they arrive.
          if (held === undefined) this.retained.set(key, { content, refs: 1 });
          else held.refs++;
          this.order.push(key);
          this.out.ref(header, key);
        } else {
          this.counters.pagesNew++;
          known.add(key);
          this.out.page(header, content);
        }
      },
      zero: () => {
        this.counters.pagesZero++;
      },
    });
  }

  get passthrough(): Passthrough | null {
    return this.parser.passthrough;
  }

  write(chunk: Buffer): void {
    this.counters.streamBytes += chunk.length;
    this.parser.write(chunk);
    this.out.flush();
  }

  end(): void {
    this.parser.end();
    this.out.frame(FRAME.END);
    this.out.flush();
  }

  /** The content of a referenced page the destination asks for again, if still held. */
  held(hash: Buffer): Buffer | undefined {
    return this.retained.get(hashKey(hash))?.content;
  }

  /** The destination rebuilt the first `count` references: their content need not be held. */
  acknowledge(count: number): void {
    while (this.dropped + this.first < count && this.first < this.order.length) {
      const key = this.order[this.first++] as string;
      const held = this.retained.get(key);
      if (held !== undefined && --held.refs === 0) this.retained.delete(key);
    }
    // Acknowledged keys leave the list in bulk (shift is linear).
    if (this.first > 65536) {
      this.order.splice(0, this.first);
      this.dropped += this.first;
      this.first = 0;
    }
  }
}
