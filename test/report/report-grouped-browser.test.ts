// @integration: needs Chromium
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { clientScript } from '../../src/report/client-script.js';
import { renderHtml } from '../../src/report/render-html.js';
import { GRAPH_VIEW_MAX, type ReportData, reportData } from '../../src/report/report-data.js';
import { tempDir } from '../helpers.js';
import { launchChromium } from './browser.js';
import { syntheticGraph, syntheticPlan } from './synthetic-graph.js';

let browser: Browser;
let page: Page;
let data: ReportData;
const errors: string[] = [];

before(async () => {
  const graph = syntheticGraph(GRAPH_VIEW_MAX + 500);
  data = reportData(graph, await syntheticPlan(graph), 'grouped');
  const out = join(tempDir(), 'grouped.html');
  writeFileSync(out, renderHtml(data, clientScript()));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`file://${out}`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
});

describe('report in headless Chromium, graph grouped by cloud and community', () => {
  it('draws the planned placement of the groups: moved groups ringed, the links it joins or splits marked', async () => {
    assert.equal(data.graph.grouped, true);
    const { nodes, edges } = data.graph;
    const planned = data.graph.planned as string[];
    const movedGroups = nodes.flatMap((n, i) => (planned[i] === n.cloud ? [] : [n.id]));
    const movedVms = nodes.reduce((s, n, i) => s + (planned[i] === n.cloud ? 0 : n.members), 0);
    const crosses = (s: number, t: number) => [
      nodes[s]?.cloud !== nodes[t]?.cloud,
      planned[s] !== planned[t],
    ];
    const newCross = edges.filter(([s, t]) => !crosses(s, t)[0] && crosses(s, t)[1]).length;
    const joined = edges.filter(([s, t]) => crosses(s, t)[0] && !crosses(s, t)[1]).length;
    assert.ok(movedGroups.length > 0 && joined > 0, `${movedGroups.length} groups, ${joined} links joined`);

    await page.locator('#planned').check();
    const ringed = await page
      .locator('#graph circle.node.moved')
      .evaluateAll((cs) => cs.map((c) => c.getAttribute('data-id')));
    assert.deepEqual(ringed.sort(), [...movedGroups].sort());
    assert.equal(await page.locator('#graph line.edge.new-cross').count(), newCross);
    assert.equal(await page.locator('#graph line.edge.joined').count(), joined);
    assert.match(
      (await page.locator('#planned-summary').textContent()) ?? '',
      new RegExp(
        `${movedVms} VMs moved in ${movedGroups.length} groups .*${newCross} links between groups newly.*${joined} brought`,
      ),
    );
    // A moved group takes the colour of a group that stays in its new cloud.
    const i = nodes.findIndex((n, j) => planned[j] !== n.cloud);
    const stayer = nodes.find((n, j) => n.cloud === planned[i] && planned[j] === n.cloud);
    assert.ok(stayer !== undefined);
    const fill = (id: string) => page.locator(`#graph circle.node[data-id="${id}"]`).getAttribute('fill');
    assert.equal(await fill(nodes[i]?.id as string), await fill(stayer.id));
    await page.locator('#planned').uncheck();
    assert.equal(await page.locator('#graph circle.node.moved').count(), 0);
    assert.deepEqual(errors, []);
  });
});
