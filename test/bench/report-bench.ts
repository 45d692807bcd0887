import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { clientScript } from '../../src/report/client-script.js';
import { renderHtml } from '../../src/report/render-html.js';
import { reportData } from '../../src/report/report-data.js';
import { tempDir } from '../helpers.js';
import { launchChromium } from '../report/browser.js';
import { syntheticGraph, syntheticPlan } from '../report/synthetic-graph.js';

/**
 * `npm run bench:report`: report generation time (layout, communities, HTML) and page load time in
 * headless Chromium (navigation until every view is drawn) for 100, 1,000 and 10,000 VMs with their plan
 * (sky-plan's own, multilevel), the median of --runs N (default 3); then the interactions: a cloud filter
 * and the planned-placement toggle, each timed from the input event to the second animation frame
 * after it (the change painted). Targets: load under 3 s, interactions under 200 ms, at 1,000 and
 * 10,000 VMs. The baseline is the same Chromium loading an empty page of the same size, in the same run.
 */
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const dir = tempDir();
const script = clientScript();
const browser = await launchChromium();
process.stdout.write(
  'VMs      edges   generate   HTML     load    empty page  drawn nodes / cells   filter   toggle\n',
);
for (const vms of [100, 1000, 10_000]) {
  const graph = syntheticGraph(vms);
  const plan = await syntheticPlan(graph);
  const generate: number[] = [];
  let html = '';
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    html = renderHtml(reportData(graph, plan, `${vms} VMs`), script);
    generate.push(performance.now() - t);
  }
  const file = join(dir, `report-${vms}.html`);
  const empty = join(dir, `empty-${vms}.html`);
  writeFileSync(file, html);
  writeFileSync(empty, `<!doctype html><body data-ready="true"><!--${'x'.repeat(html.length)}--></body>`);
  const load: number[] = [];
  const baseline: number[] = [];
  const filter: number[] = [];
  const toggle: number[] = [];
  let drawn = '';
  for (let r = 0; r < runs; r++) {
    for (const [path, times] of [
      [file, load],
      [empty, baseline],
    ] as const) {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      const t = performance.now();
      await page.goto(`file://${path}`);
      await page.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 60_000 });
      times.push(performance.now() - t);
      if (path === file) {
        drawn = `${await page.locator('circle.node').count()} / ${await page.locator('rect.cell').count()}`;
        filter.push(await interaction(page, '#filter-cloud', 'select'));
        toggle.push(await interaction(page, '#planned', 'check'));
      }
      await page.close();
    }
  }
  const ms = (x: number) => `${(x / 1000).toFixed(2)} s`.padStart(8);
  process.stdout.write(
    `${String(vms).padEnd(8)} ${String(graph.edges.length).padStart(6)} ${ms(median(generate))} ${`${(html.length / 1e6).toFixed(1)} MB`.padStart(8)} ${ms(median(load))} ${ms(median(baseline))}    ${drawn.padEnd(18)} ${ms(median(filter))} ${ms(median(toggle))}\n`,
  );
}
await browser.close();
process.stdout.write('targets: load < 3 s, filter and toggle < 0.2 s, at 1,000 and 10,000 VMs\n');

/** Milliseconds from an input event to the second animation frame after it: the change drawn. */
function interaction(page: Page, selector: string, kind: 'select' | 'check'): Promise<number> {
  return page.evaluate(
    ([sel, how]) =>
      new Promise<number>((resolve) => {
        const input = document.querySelector(sel) as HTMLInputElement & HTMLSelectElement;
        const t = performance.now();
        if (how === 'select') input.value = (input.options[1] as HTMLOptionElement).value;
        else input.checked = !input.checked;
        input.dispatchEvent(new Event('input'));
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t)));
      }),
    [selector, kind] as const,
  );
}
