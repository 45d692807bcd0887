import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { EXPORT_FORMATS, EXPORTERS, type ExportFormat, formatOfExtension } from '../export/exporters.js';
import { readGraph } from '../plan/read-graph.js';
import { checkOutputPath } from './output-path.js';

interface ExportFlags {
  graph: string;
  format?: string;
  out?: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .summary('convert a graph JSON to GraphML, GEXF, DOT, an edge list or a matrix')
    .description(
      'Writes the graph from `sky-plan analyze --json` in a standard format: GraphML and GEXF open in\n' +
        'Gephi, DOT renders with Graphviz, csv is the edge list, matrix-csv the node × node byte matrix.',
    )
    .requiredOption('-g, --graph <file>', 'graph JSON (sky-plan/graph@1)')
    .option('-f, --format <format>', `${EXPORT_FORMATS.join('|')} (default: from --out's extension)`)
    .option('-o, --out <file>', 'write there instead of stdout')
    .action(async (flags: ExportFlags) => {
      const format = exportFormat(flags);
      checkOutputPath('--out', flags.out);
      const graph = await readGraph(flags.graph);
      const text = EXPORTERS[format](graph);
      if (flags.out === undefined) process.stdout.write(text);
      else await writeFile(flags.out, text);
    });
}

function exportFormat(flags: ExportFlags): ExportFormat {
  if (flags.format !== undefined) {
    if (!(EXPORT_FORMATS as string[]).includes(flags.format))
      throw new UserError(
        'bad_format',
        `--format: "${flags.format}" is not one of ${EXPORT_FORMATS.join(', ')}`,
      );
    return flags.format as ExportFormat;
  }
  const implied = flags.out === undefined ? undefined : formatOfExtension(extname(flags.out));
  if (implied === undefined || implied === 'json')
    throw new UserError(
      'missing_format',
      `--format is needed (${EXPORT_FORMATS.join(', ')})${flags.out === undefined ? '' : `: ${flags.out}'s extension names none`}`,
    );
  return implied;
}
