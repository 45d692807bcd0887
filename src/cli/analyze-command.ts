import { createWriteStream, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { FLOW_TABLE_DEFAULTS } from '../../capture/flow-table.js';
import { analyzeCaptures } from '../analyze.js';
import { UserError } from '../errors.js';
import { EXPORT_FORMATS, EXPORTERS, formatOfExtension } from '../export/exporters.js';
import { graphDocument } from '../graph/graph-document.js';
import type { GraphDocument } from '../graph/graph-model.js';
import { renderSummary } from '../graph/render-summary.js';
import { loadInventory } from '../inventory/load-inventory.js';
import { parseCaptureArgs } from './capture-args.js';
import { parseDuration } from './duration.js';
import { checkOutputPath } from './output-path.js';
import { readingProgress } from './progress-line.js';
import { repeatable } from './repeatable.js';

const FORMATS = ['table', 'json', ...EXPORT_FORMATS] as const;
type Format = (typeof FORMATS)[number];

interface AnalyzeFlags {
  inventory?: string;
  window?: string;
  format?: string;
  out?: string;
  json?: boolean;
  host: string[];
  flows?: string;
  maxFlows?: string;
  bytes: string;
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .summary('build the VM communication graph from packet captures')
    .description(
      'Reads pcap/pcapng captures (gzip or - for stdin), decodes them down to tunnelled inner frames and\n' +
        'builds the byte-weighted, directed communication graph between VMs. Write host=file (or use\n' +
        '--host) when captures come from several hypervisors: a packet seen on both ends counts once.',
    )
    .argument('<capture...>', 'capture files: path, host=path, or - for stdin')
    .option('-i, --inventory <file>', 'inventory (YAML/JSON): clouds, hosts, VMs and their NICs')
    .option('-w, --window <duration>', 'time windows for per-edge series, peak and p95 rates (e.g. 10s)')
    .option(
      '-f, --format <format>',
      `output format: ${FORMATS.join('|')} (default: table, or from --out's extension)`,
    )
    .option('-o, --out <file>', 'write the output there (the table summary still goes to stdout)')
    .option('--json', 'print the graph JSON (sky-plan/graph@1) on stdout')
    .option('--host <name>', 'hypervisor of the next capture (repeat, in order)', repeatable, [])
    .option('--flows <file>', 'also write every flow record as NDJSON')
    .option('--max-flows <n>', `flow records held at once (default ${FLOW_TABLE_DEFAULTS.maxFlows})`)
    .option(
      '--bytes <what>',
      'wire: frames as on the wire (headers, acks, retransmissions: what links carry and bill); payload: transport payload only',
      'wire',
    )
    .action(async (captures: string[], flags: AnalyzeFlags) => {
      await analyzeAction(captures, flags);
    });
}

async function analyzeAction(captureArgs: string[], flags: AnalyzeFlags): Promise<void> {
  const format = chooseFormat(flags);
  checkOutputPath('--out', flags.out);
  checkOutputPath('--flows', flags.flows);
  const inputs = parseCaptureArgs(captureArgs, flags.host);
  const windowSeconds = flags.window === undefined ? undefined : parseDuration(flags.window, '--window');
  const maxFlows = flags.maxFlows === undefined ? FLOW_TABLE_DEFAULTS.maxFlows : Number(flags.maxFlows);
  if (!Number.isInteger(maxFlows) || maxFlows < 16) {
    throw new UserError(
      'bad_max_flows',
      `--max-flows: "${flags.maxFlows}" must be an integer of at least 16`,
    );
  }
  const inventory = flags.inventory === undefined ? undefined : await loadInventory(flags.inventory);
  // Opened here, not by the stream, so a bad path is an error before any work instead of an 'error' event.
  const flowStream =
    flags.flows === undefined ? undefined : createWriteStream('', { fd: openSync(flags.flows, 'w') });
  // A write error (a full disk) is reported when the stream ends, below, not as an uncaught event.
  flowStream?.on('error', () => undefined);
  const progress = readingProgress(process.stderr);
  const analysis = await analyzeCaptures(inputs, {
    inventory,
    windowSeconds,
    flowTable: { ...FLOW_TABLE_DEFAULTS, maxFlows, count: byteCount(flags.bytes) },
    ...(flowStream === undefined ? {} : { onFlow: (r) => flowStream.write(`${JSON.stringify(r)}\n`) }),
    ...(progress.onFile === undefined ? {} : { onFile: progress.onFile }),
  }).finally(progress.stop);
  if (flowStream !== undefined) {
    await new Promise<void>((resolve, reject) =>
      flowStream.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
  const doc = graphDocument(analysis);
  const rendered = render(doc, format);
  if (flags.out !== undefined) {
    await writeFile(flags.out, rendered);
    if (!flags.json) process.stdout.write(renderSummary(doc));
  } else {
    process.stdout.write(rendered);
  }
  for (const w of doc.warnings) process.stderr.write(`sky-plan: warning: ${w}\n`);
}

function byteCount(text: string): 'wire' | 'payload' {
  if (text === 'wire' || text === 'payload') return text;
  throw new UserError('bad_bytes', `--bytes: "${text}" is not wire or payload`);
}

function chooseFormat(flags: AnalyzeFlags): Format {
  if (flags.json) {
    if (flags.format !== undefined && flags.format !== 'json') {
      throw new UserError('conflicting_format', `--json conflicts with --format ${flags.format}`);
    }
    return 'json';
  }
  if (flags.format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(flags.format)) {
      throw new UserError('bad_format', `--format: "${flags.format}" is not one of ${FORMATS.join(', ')}`);
    }
    return flags.format as Format;
  }
  return (flags.out === undefined ? undefined : formatOfExtension(extname(flags.out))) ?? 'table';
}

function render(doc: GraphDocument, format: Format): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(doc, null, 1)}\n`;
    case 'table':
      return renderSummary(doc);
    default:
      return EXPORTERS[format](doc);
  }
}
