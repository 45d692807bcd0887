/**
 * Receives each captured frame. `data` is borrowed: valid only during the call (the reader reuses it).
 * `tsSec` is seconds since the epoch; `origLen` is the length on the wire, `caplen` what was captured.
 */
export interface FrameSink {
  frame(data: Buffer, offset: number, caplen: number, origLen: number, tsSec: number, linkType: number): void;
}

/** What a file reader learned about the file itself, beyond its frames. */
export interface ReadSummary {
  format: 'pcap' | 'pcapng';
  frames: number;
  /** Problems with the file (truncation, corrupt records); frames before the damage were delivered. */
  warnings: string[];
}

/** Largest record a reader accepts; a corrupt length beyond it stops the read instead of allocating. */
export const MAX_RECORD_BYTES = 16 << 20;
