// @integration: needs Chromium
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { moveReason } from '../../src/plan/move-reason.js';
import type { PlanDocument } from '../../src/plan/plan-document.js';
import { renderPlan } from '../../src/plan/render-plan.js';
import { formatBytes } from '../../src/text-format.js';
import { fixture, ROOT, runCli, tempDir } from '../helpers.js';
import { launchChromium } from './browser.js';

const graphPath = fixture('golden', 'cluster.json');
const planPath = fixture('golden', 'cluster-plan.json');
const graph = JSON.parse(readFileSync(graphPath, 'utf8')) as GraphDocument;
const plan = JSON.parse(readFileSync(planPath, 'utf8')) as PlanDocument;
const artifacts = join(ROOT, 'test-artifacts');

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const requests: string[] = [];
let url: string;
const textOf = async (locator: Locator) => (await locator.textContent()) ?? '';

before(async () => {
  const out = join(tempDir(), 'report.html');
  const r = runCli(['report', '--graph', graphPath, '--plan', planPath, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  url = `file://${out}`;
  mkdirSync(artifacts, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 10_000 });
});

after(async () => {
  await browser?.close();
});

describe('report in headless Chromium (bundled cluster and its plan)', () => {
  it('loads with no console error and no request but the page itself', async () => {
    await page.screenshot({ path: join(artifacts, 'report-cluster.png'), fullPage: true });
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(requests, [url]);
  });

  it('draws every node of the graph and one heatmap cell per communicating pair', async () => {
    assert.equal(await page.locator('#graph circle.node').count(), graph.nodes.length);
    assert.equal(await page.locator('#graph line.edge').count(), graph.edges.length);
    const pairs = new Set(graph.edges.filter((e) => e.bytes > 0).map((e) => `${e.source}>${e.target}`));
    assert.equal(await page.locator('#heatmap rect.cell').count(), pairs.size);
  });

  it("shows a node's traffic on hover", async () => {
    const vm = graph.nodes.find((n) => n.kind === 'vm') as GraphDocument['nodes'][number];
    const sent = graph.edges.filter((e) => e.source === vm.id).reduce((s, e) => s + e.bytes, 0);
    await page.locator(`#graph circle.node[data-id="${vm.id}"]`).hover({ force: true });
    const tooltip = page.locator('#tooltip');
    assert.equal(await tooltip.isVisible(), true);
    const text = await textOf(tooltip);
    assert.match(text, new RegExp(vm.id));
    assert.match(text, new RegExp(`sent ${formatBytes(sent).replace('.', '\\.')}`));
    await page.screenshot({ path: join(artifacts, 'report-hover.png') });
  });

  it("names each community's pattern, in a table and on hover", async () => {
    const text = await textOf(page.locator('#pattern-table'));
    for (const pattern of ['stencil-2d', 'shuffle', 'master-worker', 'client-server'])
      assert.match(text, new RegExp(pattern));
    await page.locator('#graph circle.node[data-id="cfd-1-1"]').hover({ force: true });
    assert.match(await textOf(page.locator('#tooltip')), /community \d+ \(stencil-2d\)/);
  });

  it("draws each community's phases on a timeline, the MapReduce shuffle burst among them", async () => {
    const phases = graph.patterns.communities.flatMap((c) => c.phases);
    assert.ok(phases.length >= 5);
    assert.equal(await page.locator('#phase-timeline rect.phase').count(), phases.length);
    const titles = await page.locator('#phase-timeline rect.phase title').allTextContents();
    assert.ok(
      titles.includes(
        `shuffle, 20-30 s, ${formatBytes(phases.find((p) => p.pattern === 'shuffle')?.bytes ?? 0)}`,
      ),
      titles.join('; '),
    );
  });

  it('finds VMs by name', async () => {
    await page.fill('#search', 'cfd-1');
    const expected = graph.nodes.filter((n) => n.id.includes('cfd-1')).length;
    assert.ok(expected > 0);
    assert.equal(await page.locator('#graph circle.node.match').count(), expected);
    assert.equal(await textOf(page.locator('#search-result')), `${expected} matches`);
    await page.fill('#search', '');
  });

  it('draws each edge with an arrow to its receiver, names the heaviest nodes, and says what size and width mean', async () => {
    assert.equal(
      await page.locator('#graph line.edge[marker-end="url(#arrow)"]').count(),
      graph.edges.length,
    );
    assert.equal(await page.locator('#graph marker#arrow path').count(), 1);
    const traffic = new Map<string, number>();
    for (const e of graph.edges)
      for (const id of [e.source, e.target]) traffic.set(id, (traffic.get(id) ?? 0) + e.bytes);
    const heaviest = [...traffic]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([id]) => id);
    const named = await page
      .locator('#graph text.label.top')
      .evaluateAll((ts) => ts.map((t) => t.textContent));
    assert.deepEqual(new Set(named), new Set(heaviest));
    const quiet = graph.nodes.find((n) => !heaviest.includes(n.id)) as GraphDocument['nodes'][number];
    const label = page.locator(`#graph text.label[data-id="${quiet.id}"]`);
    assert.equal(await label.isVisible(), false, 'a light node is not named at first');
    const legend = await textOf(page.locator('#graph-legend'));
    assert.match(
      legend,
      new RegExp(`up to ${formatBytes(Math.max(...traffic.values())).replace('.', '\\.')}`),
    );
    assert.match(legend, /sender → receiver/);
    // Zoomed in, every node is named.
    const box = (await page.locator('#graph').boundingBox()) as {
      x: number;
      y: number;
      width: number;
      height: number;
    };
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -300);
    await page.waitForTimeout(200);
    assert.equal(await page.locator('#graph').evaluate((g) => g.classList.contains('zoomed')), true);
    assert.equal(await label.isVisible(), true, 'zoomed in, the light node is named too');
  });

  it('search frames the match and every neighbour of it', async () => {
    const vm = 'cfd-1-1';
    const peers = new Set(
      graph.edges.flatMap((e) => (e.source === vm ? [e.target] : e.target === vm ? [e.source] : [])),
    );
    assert.ok(peers.size > 1);
    await page.fill('#search', vm);
    await page.waitForTimeout(200);
    const frame = (await page.locator('#graph').boundingBox()) as {
      x: number;
      y: number;
      width: number;
      height: number;
    };
    for (const id of [vm, ...peers]) {
      const b = (await page.locator(`#graph circle.node[data-id="${id}"]`).boundingBox()) as {
        x: number;
        y: number;
      };
      assert.ok(
        b.x >= frame.x && b.y >= frame.y && b.x <= frame.x + frame.width && b.y <= frame.y + frame.height,
        `${id} is in view`,
      );
    }
    await page.fill('#search', '');
  });

  it('names the heatmap rows and columns', async () => {
    const names = await page
      .locator('#heatmap text.row-name')
      .evaluateAll((ts) => ts.map((t) => t.textContent));
    const columns = await page.locator('#heatmap text.column-name').count();
    assert.ok(names.length > 0 && names.length === columns);
    // Every node has a row here (29 rows have room for every name).
    assert.equal(names.length, graph.nodes.length);
    assert.ok(names.includes('external'));
  });

  it('sorts a table by the column clicked, by value, and back', async () => {
    const header = page.locator('#moves-table th', { hasText: 'WAN bytes' });
    const values = () =>
      page
        .locator('#moves-table tbody tr')
        .evaluateAll((rows) => rows.map((r) => Number((r as HTMLTableRowElement).cells[2]?.dataset.value)));
    await header.click();
    const up = await values();
    assert.deepEqual(
      up,
      [...up].sort((a, b) => a - b),
    );
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    await header.click();
    const down = await values();
    assert.deepEqual(
      down,
      [...up].sort((a, b) => b - a),
    );
    assert.ok(up[0] !== down[0], 'the moves differ in bytes');
    // Back in the plan's order, for the tests that read it.
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
  });

  it('draws the planned placement on demand: moved VMs ringed, edges it makes cross-cloud marked', async () => {
    const cloud = new Map(graph.nodes.map((n) => [n.id, n.kind === 'vm' ? n.cloud : `(${n.kind})`]));
    const planned = (id: string) => plan.placement[id] ?? cloud.get(id);
    const newCross = graph.edges.filter(
      (e) => cloud.get(e.source) === cloud.get(e.target) && planned(e.source) !== planned(e.target),
    ).length;
    const moved = plan.moves.filter((m) => cloud.has(m.vm)).map((m) => m.vm);
    assert.ok(moved.length > 0);
    await page.locator('#planned').check();
    const ringed = await page
      .locator('#graph circle.node.moved')
      .evaluateAll((cs) => cs.map((c) => c.getAttribute('data-id')));
    assert.deepEqual(ringed.sort(), [...moved].sort());
    assert.equal(await page.locator('#graph line.edge.new-cross').count(), newCross);
    assert.match(
      await textOf(page.locator('#planned-summary')),
      new RegExp(`${moved.length} VMs moved.*${newCross} edges newly cross-cloud`),
    );
    // A moved VM takes the colour of a VM that stays in its new cloud.
    const m = plan.moves.find((x) => cloud.has(x.vm)) as PlanDocument['moves'][number];
    const stayer = graph.nodes.find((n) => n.kind === 'vm' && n.cloud === m.to && planned(n.id) === m.to);
    if (stayer !== undefined)
      assert.equal(
        await page.locator(`#graph circle.node[data-id="${m.vm}"]`).getAttribute('fill'),
        await page.locator(`#graph circle.node[data-id="${stayer.id}"]`).getAttribute('fill'),
      );
    await page.locator('#planned').uncheck();
    assert.equal(await page.locator('#graph circle.node.moved').count(), 0);
    assert.equal(await page.locator('#graph line.edge.new-cross').count(), 0);
  });

  it('filters the graph, the heatmap and the moves by cloud, and edges by rate', async () => {
    const cloud = new Map(graph.nodes.map((n) => [n.id, n.kind === 'vm' ? n.cloud : undefined]));
    const target = graph.nodes.find((n) => n.kind === 'vm')?.cloud as string;
    await page.selectOption('#filter-cloud', target);
    const visible = await page
      .locator('#graph circle.node:not(.filtered)')
      .evaluateAll((cs) => cs.map((c) => c.getAttribute('data-id')));
    assert.deepEqual(
      visible.sort(),
      graph.nodes
        .filter((n) => cloud.get(n.id) === target)
        .map((n) => n.id)
        .sort(),
    );
    const inside = new Set(
      graph.edges
        .filter((e) => cloud.get(e.source) === target && cloud.get(e.target) === target)
        .map((e) => `${e.source}>${e.target}`),
    );
    assert.equal(
      await page.locator('#graph line.edge:not(.filtered)').count(),
      graph.edges.filter((e) => inside.has(`${e.source}>${e.target}`)).length,
    );
    assert.equal(await page.locator('#heatmap rect.cell:not(.filtered)').count(), inside.size);
    const moves = plan.moves.filter((m) => m.from === target || m.to === target).length;
    assert.equal(await page.locator('#moves-table tbody tr:not(.filtered)').count(), moves);
    await page.selectOption('#filter-cloud', '');
    assert.equal(await page.locator('#graph circle.node.filtered').count(), 0);
    // No edge is faster than its bytes over the whole capture: a rate above the largest hides them all.
    const seconds = graph.timeRange?.seconds ?? 1;
    const fastest = Math.max(...graph.edges.map((e) => e.bytes / seconds));
    await page.fill('#filter-rate', String(Math.ceil(fastest * 1.01)));
    assert.equal(await page.locator('#graph line.edge:not(.filtered)').count(), 0);
    await page.fill('#filter-rate', String(fastest / 2));
    const above = graph.edges.filter((e) => e.bytes / seconds >= fastest / 2).length;
    assert.equal(await page.locator('#graph line.edge:not(.filtered)').count(), above);
    await page.fill('#filter-rate', '0');
  });

  it('draws the cross-cloud rate window by window and names the busiest stretch', async () => {
    const w = graph.window as NonNullable<GraphDocument['window']>;
    const cloud = new Map(graph.nodes.map((n) => [n.id, n.kind === 'vm' ? n.cloud : undefined]));
    const rates = new Array<number>(w.count).fill(0);
    for (const e of graph.edges) {
      const [a, b] = [cloud.get(e.source), cloud.get(e.target)];
      if (a === undefined || b === undefined || a === b) continue;
      for (const [start, bytes] of e.windows?.series ?? []) {
        const i = Math.round((start - w.first) / w.seconds);
        rates[i] = (rates[i] ?? 0) + bytes / w.seconds;
      }
    }
    const points = await page.locator('#cross-cloud-timeline polyline').getAttribute('points');
    assert.equal(points?.trim().split(' ').length, w.count);
    assert.match(
      await textOf(page.locator('#busiest-phase')),
      new RegExp(`peaking at ${formatBytes(Math.max(...rates)).replace('.', '\\.')}/s`),
    );
    assert.equal(await page.locator('#cross-cloud-timeline rect.busiest').count(), 1);
  });

  it('shows the plan: costs before and after, every move marked and explained', async () => {
    assert.equal(await page.locator('#moves-table tbody tr').count(), plan.moves.length);
    // Each move's explanation is the one the CLI prints (plan's "because it" column), word for word.
    // (The golden plan leaves its solver time out: it is the only field that changes between runs.)
    const cli = renderPlan({ ...plan, solver: { ...plan.solver, seconds: 1 } });
    for (const [i, m] of plan.moves.slice(0, 5).entries()) {
      const why = await textOf(page.locator('#moves-table tbody tr').nth(i).locator('td').last());
      assert.equal(why, moveReason(m));
      assert.ok(cli.includes(why), `the CLI says "${why}" too`);
    }
    const after = page.locator('.placement').nth(1);
    assert.equal(await after.locator('.vm.moved').count(), plan.moves.length);
    assert.equal(await after.locator('.vm').count(), Object.keys(plan.placement).length);
    const total = await textOf(page.locator('#cost-table tbody tr', { hasText: 'total' }));
    assert.match(total, /\$3,377\.15\s*\$3,142\.72\s*-\$234\.43/);
  });

  it('steps through the capture windows with the time slider', async () => {
    assert.ok(graph.window !== null && graph.window.count > 1);
    const widths = () =>
      page
        .locator('#graph line.edge')
        .evaluateAll((lines) => lines.map((l) => l.getAttribute('stroke-width')));
    const whole = await widths();
    await page.locator('#window').fill('1');
    assert.match(await textOf(page.locator('#window-label')), new RegExp(`window 1/${graph.window.count}`));
    const first = await widths();
    assert.notDeepEqual(first, whole);
    const idle = graph.edges.filter(
      (e) => !(e.windows?.series ?? []).some(([start]) => start === graph.window?.first),
    );
    assert.equal(first.filter((w) => w === '0.00').length, idle.length);
    await page.locator('#window').fill('0');
  });

  it('fits a laptop screen and prints', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px at 1280 px`);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('.controls').first().isVisible(), false);
    await page.screenshot({ path: join(artifacts, 'report-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });
  });
});
