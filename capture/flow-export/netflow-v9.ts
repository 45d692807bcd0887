import { countProblem, type ExportedFlow, type ExportStats } from './exported-flow.js';
import { type FieldSpec, makeTemplate, readDataSet, type TemplateCache } from './templates.js';

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
  const flows: ExportedFlow[] = [];
  let p = 20;
  while (p + 4 <= d.length) {
    const id = d.readUInt16BE(p);
    const length = d.readUInt16BE(p + 2);
    if (length < 4 || p + length > d.length) {
      countProblem(stats, 'malformed:netflow9_bad_flowset_length');
      return flows;
    }
    const end = p + length;
    if (id === 0 || id === 1) {
      if (
        !readTemplates(
          d,
          p + 4,
          end,
          id === 1,
          (tid, fields) => templates.define(domain, tid, makeTemplate(fields, id === 1)),
          stats,
        )
      )
        return flows;
    } else if (id >= 256) {
      const template = domain.templates.get(id);
      if (template === undefined) countProblem(stats, 'unsupported:unknown_template');
      else if (!readDataSet(d, p + 4, end, template, domain, clock, flows, stats)) {
        countProblem(stats, 'malformed:netflow9_record_cut');
      }
    } else countProblem(stats, 'unsupported:netflow9_reserved_flowset');
    p = end;
  }
  return flows;
}

function readTemplates(
  d: Buffer,
  p: number,
  end: number,
  options: boolean,
  define: (id: number, fields: FieldSpec[]) => boolean,
  stats: ExportStats,
): boolean {
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
}
