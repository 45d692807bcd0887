import { countProblem, type ExportedFlow, type ExportStats, emptyFlow, ipGroup } from './exported-flow.js';

/** Open vSwitch's enterprise elements (VMware, 6876): tunnelKey is its tunnel ports' VNI or key. */
const VMWARE = 6876;
const TUNNEL_KEY = 892;

/** A field specifier: information element id, length (65535: variable, IPFIX), enterprise (0: IANA). */
export interface FieldSpec {
  id: number;
  length: number;
  enterprise: number;
}

export interface Template {
  fields: FieldSpec[];
  /** Options templates describe the exporter (sampling, clock), not flows. */
  options: boolean;
  /** Shortest record (variable-length fields count one byte): sets are read while this much is left. */
  minLength: number;
}

/** What an exporter's observation domain told about itself in options records. */
export interface DomainState {
  templates: Map<number, Template>;
  samplingRate: number;
  /** IPFIX systemInitTimeMilliseconds: the zero of flowStart/EndSysUpTime. */
  sysInitMs: number | undefined;
}

export interface TemplateLimits {
  /** Templates kept per exporter and observation domain (a template flood stops here). */
  perDomain: number;
  /** Exporter/domain pairs kept; beyond it new exporters' templates are refused. */
  domains: number;
}

export const TEMPLATE_LIMITS: TemplateLimits = { perDomain: 1024, domains: 4096 };

/**
 * Templates of NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) exporters, per exporter and observation domain,
 * with a hard bound on both counts so hostile datagrams cannot grow memory without limit.
 */
export class TemplateCache {
  private readonly domains = new Map<string, DomainState>();

  constructor(private readonly limits: TemplateLimits = TEMPLATE_LIMITS) {}

  domain(exporter: string, domain: number): DomainState | undefined {
    const key = `${exporter}|${domain}`;
    let d = this.domains.get(key);
    if (d === undefined) {
      if (this.domains.size >= this.limits.domains) return undefined;
      d = { templates: new Map(), samplingRate: 1, sysInitMs: undefined };
      this.domains.set(key, d);
    }
    return d;
  }

  /** False when the domain is full: the template is refused (counted by the caller). */
  define(d: DomainState, id: number, template: Template | null): boolean {
    if (template === null) {
      d.templates.delete(id);
      return true;
    }
    if (!d.templates.has(id) && d.templates.size >= this.limits.perDomain) return false;
    d.templates.set(id, template);
    return true;
  }

  get size(): number {
    let n = 0;
    for (const d of this.domains.values()) n += d.templates.size;
    return n;
  }
}

export function makeTemplate(fields: FieldSpec[], options: boolean): Template {
  let minLength = 0;
  for (const f of fields) minLength += f.length === 65535 ? 1 : f.length;
  return { fields, options, minLength };
}

/** Clock of the datagram, to turn uptime-relative times into epoch seconds. */
export interface ExportClock {
  /** Datagram export time, seconds since the epoch. */
  exportTime: number;
  /** NetFlow v9: the exporter's uptime (ms) at export time. */
  sysUptimeMs: number | undefined;
}

/** Unsigned big-endian integer of 1-8 bytes (beyond 2^53 precision is lost, harmless for counters). */
function readUnsigned(d: Buffer, p: number, length: number): number {
  if (length <= 6) return d.readUIntBE(p, length);
  const hi = d.readUIntBE(p, length - 4);
  return hi * 4294967296 + d.readUInt32BE(p + length - 4);
}

/**
 * Reads the records of a data set [p, end) with `template`. Options records update the domain (sampling,
 * clock); flow records are returned with the domain's sampling rate applied. False when the set is cut.
 */
export function readDataSet(
  d: Buffer,
  p: number,
  end: number,
  template: Template,
  domain: DomainState,
  clock: ExportClock,
  out: ExportedFlow[],
  stats: ExportStats,
): boolean {
  while (end - p >= template.minLength && template.minLength > 0) {
    const f = template.options ? null : emptyFlow();
    let rate = 0;
    let packetInterval = 0;
    let packetSpace = 0;
    let startUptime = -1;
    let endUptime = -1;
    let hasV6 = false;
    // interfaceName (82) names the interface of the ingressInterface (10) or egressInterface (14) before it.
    let egress = false;
    for (const field of template.fields) {
      let length = field.length;
      if (length === 65535) {
        if (p >= end) return false;
        length = d[p++] as number;
        if (length === 255) {
          if (p + 2 > end) return false;
          length = d.readUInt16BE(p);
          p += 2;
        }
      }
      if (p + length > end) return false;
      if (f !== null && field.enterprise === VMWARE && field.id === TUNNEL_KEY && length > 0 && length <= 8) {
        // Open vSwitch's tunnel ports: the key is the VNI (VXLAN, Geneve) or the GRE key.
        const key = readUnsigned(d, p, length);
        if (key <= 0xffffff) f.vni = key;
      } else if (field.enterprise === 0 && length > 0) {
        const id = field.id;
        if (f === null) {
          // Options: sampling and the exporter's clock.
          if ((id === 34 || id === 50) && length <= 8) rate = readUnsigned(d, p, length);
          else if (id === 305 && length <= 8) packetInterval = readUnsigned(d, p, length);
          else if (id === 306 && length <= 8) packetSpace = readUnsigned(d, p, length);
          else if (id === 160 && length === 8) domain.sysInitMs = readUnsigned(d, p, 8);
        } else if (id === 82) {
          const name = d.toString('utf8', p, p + Math.min(length, 64));
          if (egress) f.outPort = name;
          else f.inPort = name;
        } else if (length <= 8 || id === 27 || id === 28) {
          switch (id) {
            case 61:
              f.egress = d[p] === 1;
              break;
            case 10:
              egress = false;
              break;
            case 14:
              egress = true;
              break;
            case 1:
              f.bytes = readUnsigned(d, p, length);
              break;
            case 2:
              f.packets = readUnsigned(d, p, length);
              break;
            case 4:
              f.protocol = d[p] as number;
              break;
            case 7:
              f.srcPort = readUnsigned(d, p, length);
              break;
            case 11:
              f.dstPort = readUnsigned(d, p, length);
              break;
            case 8:
              if (length === 4) f.src[0] = d.readUInt32BE(p);
              break;
            case 12:
              if (length === 4) f.dst[0] = d.readUInt32BE(p);
              break;
            case 27:
            case 28:
              if (length === 16) {
                const w = id === 27 ? f.src : f.dst;
                for (let i = 0; i < 4; i++) w[i] = d.readUInt32BE(p + i * 4);
                hasV6 = true;
              }
              break;
            case 56:
              if (length === 6) f.srcMac = d.readUIntBE(p, 6);
              break;
            case 80:
              if (length === 6) f.dstMac = d.readUIntBE(p, 6);
              break;
            case 58:
            case 243: {
              // Exporters report 0 for untagged frames (VID 0 is a priority tag, not a VLAN).
              const vid = readUnsigned(d, p, length) & 0xfff;
              if (vid !== 0) f.vlan = vid;
              break;
            }
            case 351:
              // layer2SegmentId: the top octet names the segment type, 0x01 is VXLAN (RFC 7011 IANA note).
              if (length === 8 && d[p] === 1) f.vni = d.readUIntBE(p + 5, 3);
              break;
            case 22:
              startUptime = readUnsigned(d, p, length);
              break;
            case 21:
              endUptime = readUnsigned(d, p, length);
              break;
            case 150:
              f.first = readUnsigned(d, p, length);
              break;
            case 151:
              f.last = readUnsigned(d, p, length);
              break;
            case 152:
              f.first = readUnsigned(d, p, length) / 1000;
              break;
            case 153:
              f.last = readUnsigned(d, p, length) / 1000;
              break;
            case 34:
            case 50:
              rate = readUnsigned(d, p, length);
              break;
          }
        }
      }
      p += length;
    }
    if (f === null) {
      if (packetInterval > 0) rate = (packetInterval + packetSpace) / packetInterval;
      if (rate >= 1) domain.samplingRate = rate;
      continue;
    }
    if (hasV6) f.ipVersion = 6;
    const toEpoch = (uptime: number) =>
      clock.sysUptimeMs !== undefined
        ? clock.exportTime - (clock.sysUptimeMs - uptime) / 1000
        : domain.sysInitMs !== undefined
          ? (domain.sysInitMs + uptime) / 1000
          : clock.exportTime;
    if (startUptime >= 0) f.first = toEpoch(startUptime);
    if (endUptime >= 0) f.last = toEpoch(endUptime);
    if (f.last === 0) f.last = clock.exportTime;
    if (f.first === 0) f.first = f.last;
    const scale = rate >= 1 ? rate : domain.samplingRate;
    f.bytes *= scale;
    f.packets *= scale;
    f.group = ipGroup(f.ipVersion, f.dst);
    if (f.packets > 0) out.push(f);
    stats.records++;
  }
  return true;
}

/** Where NetFlow v9 and IPFIX differ once past their headers: set ids and template layouts. */
export interface SetDialect {
  name: 'netflow9' | 'ipfix';
  templateSet: number;
  optionsSet: number;
  /** Reads a set of (options) templates, defining each; false when the set is malformed (counted). */
  readTemplates(
    d: Buffer,
    p: number,
    end: number,
    options: boolean,
    define: (id: number, fields: FieldSpec[]) => boolean,
    stats: ExportStats,
  ): boolean;
}

/** The sets of one message, [p, total): templates are defined, data sets read through them. */
export function readSets(
  d: Buffer,
  p: number,
  total: number,
  dialect: SetDialect,
  templates: TemplateCache,
  domain: DomainState,
  clock: ExportClock,
  stats: ExportStats,
): ExportedFlow[] {
  const flows: ExportedFlow[] = [];
  while (p + 4 <= total) {
    const id = d.readUInt16BE(p);
    const length = d.readUInt16BE(p + 2);
    if (length < 4 || p + length > total) {
      countProblem(stats, `malformed:${dialect.name}_bad_set_length`);
      return flows;
    }
    const end = p + length;
    if (id === dialect.templateSet || id === dialect.optionsSet) {
      const options = id === dialect.optionsSet;
      // No fields: a withdrawal (RFC 7011 8.1).
      const define = (tid: number, fields: FieldSpec[]) =>
        templates.define(domain, tid, fields.length === 0 ? null : makeTemplate(fields, options));
      if (!dialect.readTemplates(d, p + 4, end, options, define, stats)) return flows;
    } else if (id >= 256) {
      const template = domain.templates.get(id);
      if (template === undefined) countProblem(stats, 'unsupported:unknown_template');
      else if (!readDataSet(d, p + 4, end, template, domain, clock, flows, stats)) {
        countProblem(stats, `malformed:${dialect.name}_record_cut`);
      }
    } else countProblem(stats, `unsupported:${dialect.name}_reserved_set`);
    p = end;
  }
  return flows;
}
