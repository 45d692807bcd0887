import type { WindowDocument } from '../../capture/window-document.js';

/** [since, until) in seconds since the epoch. */
export interface TimeRange {
  since: number;
  until: number;
}

/**
 * What each endpoint and flow row of a window is, as the aggregator that stored it attributed it: for
 * queries and rollups in the store. `graph` recounts from the rows themselves, with every window's
 * knowledge.
 */
export interface LabelledWindow {
  doc: WindowDocument;
  /** Per entry of `doc.endpoints`: its VM's name (or the address's id) and cloud, '' where unknown. */
  endpoints: { id: string; cloud: string }[];
  /** Per flow row of `doc`: 0 when another hypervisor's window counts this direction (its sender's). */
  counted: Uint8Array;
}

/** The history of windows, as `graph --since` reads a time range of it. */
export interface WindowHistory {
  /** The windows starting in `range`, each once, each collector's in the order it sent them. */
  windows(range: TimeRange): AsyncIterable<WindowDocument>;
  close(): Promise<void>;
}

/** A history aggregators write to (`collect --store`). */
export interface WindowStore extends WindowHistory {
  /** Keeps the windows not held yet (by id) and resolves once they are durable; returns how many were new. */
  put(windows: readonly LabelledWindow[]): Promise<number>;
}

/** The order windows are counted in: by time, and each collector's in the order it sent them. */
export function byWindowOrder(a: WindowDocument, b: WindowDocument): number {
  const ta = a.window.index * a.window.seconds;
  const tb = b.window.index * b.window.seconds;
  if (ta !== tb) return ta - tb;
  if (a.instance !== b.instance) return a.instance < b.instance ? -1 : 1;
  return a.seq - b.seq;
}
