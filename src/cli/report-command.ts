import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { readGraph } from '../plan/read-graph.js';
import { type PlanView, readPlan } from '../plan/read-plan.js';
import { clientScript } from '../report/client-script.js';
import { renderHtml } from '../report/render-html.js';
import { type ReportGraph, reportData } from '../report/report-data.js';
import { checkOutputPath } from './output-path.js';

interface ReportFlags {
  graph: string;
  plan?: string;
  out: string;
  title?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .summary('write a self-contained HTML report: graph, heatmap, cloud matrix, plan')
    .description(
      'One HTML file that opens offline: the communication graph by cloud (pan, zoom, search, hover),\n' +
        'the VM × VM traffic heatmap, the traffic and egress cost between clouds, and with --plan the\n' +
        'placement before and after, each move and why, and the cost breakdown.',
    )
    .requiredOption('-g, --graph <file>', 'graph JSON (sky-plan/graph@1) from sky-plan analyze --json')
    .option('-p, --plan <file>', 'plan JSON (sky-plan/plan@1) from sky-plan plan --json')
    .option('-o, --out <file>', 'where to write the page', 'report.html')
    .option('--title <text>', 'page title (default: from the graph file name)')
    .action(async (flags: ReportFlags) => {
      checkOutputPath('--out', flags.out);
      const graph: ReportGraph = await readGraph(flags.graph);
      const plan: PlanView | null = flags.plan === undefined ? null : await readPlan(flags.plan);
      const title = flags.title ?? `sky-plan report: ${basename(flags.graph)}`;
      await writeFile(flags.out, renderHtml(reportData(graph, plan, title), clientScript()));
      process.stdout.write(`sky-plan: wrote ${flags.out}\n`);
    });
}
