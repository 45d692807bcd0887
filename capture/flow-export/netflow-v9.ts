import { countProblem, type ExportedFlow, type ExportStats } from './exported-flow.js';
import { type FieldSpec, readSets, type SetDialect, type TemplateCache } from './templates.js';

/**
 * NetFlow v9 (RFC 3954). Header: version(2)=9 count(2) sysUptime ms(4) unix_secs(4) sequence(4)
 * source_id(4); then FlowSets: id(2) length(2) body. Id 0: templates, id(2) field_count(2) then
 * type(2) length(2) pairs; id 1: options templates, id(2) scope_length(2) option_length(2) then
 * scope and option type/length pairs (lengths in bytes); id >= 256: data records of that template.
 */
export function decodeNetflowV9(
  d: Buffer,
  exporter: string,
  templates: TemplateCache,
  stats: ExportStats,
): ExportedFlow[] {
  if (d.length < 20) {
    countProblem(stats, 'malformed:netflow9_short_header');
    return [];
  }
  const domain = templates.domain(exporter, d.readUInt32BE(16));
  if (domain === undefined) {
    countProblem(stats, 'malformed:template_limit');
    return [];
  }
  const clock = { exportTime: d.readUInt32BE(8), sysUptimeMs: d.readUInt32BE(4) };
  return readSets(d, 20, d.length, DIALECT, templates, domain, clock, stats);
}

const readTemplates: SetDialect['readTemplates'] = (d, p, end, options, define, stats) => {
  while (end - p >= (options ? 6 : 4)) {
    const tid = d.readUInt16BE(p);
    let pairs: number;
    if (options) {
      const scopeBytes = d.readUInt16BE(p + 2);
      const optionBytes = d.readUInt16BE(p + 4);
      p += 6;
      pairs = (scopeBytes + optionBytes) / 4;
    } else {
      pairs = d.readUInt16BE(p + 2);
      p += 4;
    }
    if (!Number.isInteger(pairs) || p + pairs * 4 > end || tid < 256) {
      countProblem(stats, 'malformed:netflow9_bad_template');
      return false;
    }
    const fields: FieldSpec[] = [];
    for (let i = 0; i < pairs; i++, p += 4) {
      fields.push({ id: d.readUInt16BE(p), length: d.readUInt16BE(p + 2), enterprise: 0 });
    }
    if (!define(tid, fields)) countProblem(stats, 'malformed:template_limit');
  }
  return true;
};

const DIALECT: SetDialect = { name: 'netflow9', templateSet: 0, optionsSet: 1, readTemplates };
