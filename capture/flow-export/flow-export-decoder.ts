import { countProblem, type ExportedFlow, type ExportStats } from './exported-flow.js';
import { decodeIpfix } from './ipfix.js';
import { decodeNetflowV5 } from './netflow-v5.js';
import { decodeNetflowV9 } from './netflow-v9.js';
import { decodeSflowV5 } from './sflow-v5.js';
import { TEMPLATE_LIMITS, TemplateCache, type TemplateLimits } from './templates.js';

/** Exporters tracked one by one; datagrams from more sources are counted together. */
const MAX_EXPORTERS = 4096;
export const OTHER_EXPORTERS = 'others';

/**
 * Flow-export datagrams of any supported kind on one UDP port, told apart by their version field:
 * NetFlow v5 and v9, IPFIX (10), sFlow v5 (a 32-bit 5). Never throws on datagram contents.
 */
export class FlowExportDecoder {
  private readonly templates: TemplateCache;
  readonly stats = new Map<string, ExportStats>();

  constructor(limits: TemplateLimits = TEMPLATE_LIMITS) {
    this.templates = new TemplateCache(limits);
  }

  /** Templates held, over all exporters (bounded by the limits). */
  get templateCount(): number {
    return this.templates.size;
  }

  decode(d: Buffer, exporter: string, now: number): ExportedFlow[] {
    const stats = this.statsOf(exporter);
    stats.datagrams++;
    if (d.length < 4) {
      countProblem(stats, 'malformed:datagram_too_short');
      return [];
    }
    try {
      switch (d.readUInt16BE(0)) {
        case 5:
          return decodeNetflowV5(d, stats);
        case 9:
          return decodeNetflowV9(d, exporter, this.templates, stats);
        case 10:
          return decodeIpfix(d, exporter, this.templates, stats);
        case 0:
          if (d.readUInt32BE(0) === 5) return decodeSflowV5(d, stats, now);
      }
      countProblem(stats, 'unsupported:unknown_version');
    } catch (err) {
      // A bounds slip in a decoder must cost one datagram, not the collector.
      countProblem(stats, `malformed:${err instanceof RangeError ? 'out_of_bounds' : 'undecodable'}`);
    }
    return [];
  }

  private statsOf(exporter: string): ExportStats {
    let s = this.stats.get(exporter);
    if (s === undefined) {
      const key = this.stats.size < MAX_EXPORTERS ? exporter : OTHER_EXPORTERS;
      s = this.stats.get(key) ?? { datagrams: 0, records: 0, problems: {} };
      this.stats.set(key, s);
    }
    return s;
  }
}
