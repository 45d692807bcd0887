import { countProblem, type ExportedFlow, type ExportStats } from './exported-flow.js';
import { type FieldSpec, readSets, type SetDialect, type TemplateCache } from './templates.js';

/**
 * IPFIX (RFC 7011). Message header: version(2)=10 length(2) exportTime(4) sequence(4) domain(4); then
 * sets: id(2) length(2) body. Set 2: templates, id(2) field_count(2) then specifiers; set 3: options
 * templates, id(2) field_count(2) scope_field_count(2) then specifiers; id >= 256: data. A specifier is
 * id(2) length(2), with the enterprise bit set in id followed by an enterprise number(4). A template
 * with field_count 0 withdraws it (RFC 7011 8.1).
 */
export function decodeIpfix(
  d: Buffer,
  exporter: string,
  templates: TemplateCache,
  stats: ExportStats,
): ExportedFlow[] {
  if (d.length < 16) {
    countProblem(stats, 'malformed:ipfix_short_header');
    return [];
  }
  const total = d.readUInt16BE(2);
  if (total < 16 || total > d.length) {
    countProblem(stats, 'malformed:ipfix_bad_length');
    return [];
  }
  const domain = templates.domain(exporter, d.readUInt32BE(12));
  if (domain === undefined) {
    countProblem(stats, 'malformed:template_limit');
    return [];
  }
  const clock = { exportTime: d.readUInt32BE(4), sysUptimeMs: undefined };
  return readSets(d, 16, total, DIALECT, templates, domain, clock, stats);
}

const readTemplates: SetDialect['readTemplates'] = (d, p, end, options, define, stats) => {
  // Sets may end in padding shorter than a template header.
  while (end - p >= 4) {
    const tid = d.readUInt16BE(p);
    const count = d.readUInt16BE(p + 2);
    p += count > 0 && options ? 6 : 4;
    if (tid < 256 || p > end) {
      countProblem(stats, 'malformed:ipfix_bad_template');
      return false;
    }
    const fields: FieldSpec[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 4 > end) {
        countProblem(stats, 'malformed:ipfix_bad_template');
        return false;
      }
      const raw = d.readUInt16BE(p);
      const length = d.readUInt16BE(p + 2);
      p += 4;
      let enterprise = 0;
      if (raw & 0x8000) {
        if (p + 4 > end) {
          countProblem(stats, 'malformed:ipfix_bad_template');
          return false;
        }
        enterprise = d.readUInt32BE(p);
        p += 4;
      }
      fields.push({ id: raw & 0x7fff, length, enterprise });
    }
    if (!define(tid, fields)) countProblem(stats, 'malformed:template_limit');
  }
  return true;
};

const DIALECT: SetDialect = { name: 'ipfix', templateSet: 2, optionsSet: 3, readTemplates };
