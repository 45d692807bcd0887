import type { GraphView } from '../graph/graph-view.js';
import { dot } from './dot.js';
import { edgesCsv } from './edges-csv.js';
import { gexf } from './gexf.js';
import { graphml } from './graphml.js';
import { matrixCsv } from './matrix-csv.js';

/** Every export format, shared by `sky-plan export` and `analyze --format`. */
export const EXPORTERS = {
  graphml,
  gexf,
  dot,
  csv: edgesCsv,
  'matrix-csv': matrixCsv,
} satisfies Record<string, (graph: GraphView) => string>;

export type ExportFormat = keyof typeof EXPORTERS;
export const EXPORT_FORMATS = Object.keys(EXPORTERS) as ExportFormat[];

/** The format an output file's extension implies, if any. */
export function formatOfExtension(ext: string): ExportFormat | 'json' | undefined {
  const formats: Record<string, ExportFormat | 'json'> = {
    '.json': 'json',
    '.graphml': 'graphml',
    '.gexf': 'gexf',
    '.dot': 'dot',
    '.gv': 'dot',
    '.csv': 'csv',
  };
  return formats[ext.toLowerCase()];
}
