import { utcTime } from '../../utc-time.js';
import type { ReportData } from '../report-data.js';
import { el, Tooltip } from './dom.js';
import { filterBar } from './filters.js';
import { graphView } from './graph-view.js';
import { heatmap } from './heatmap.js';
import { cloudMatrix, crossCloudTimeline, patternTable, planView } from './tables.js';

/** Entry point of the page: reads the embedded data and builds every view. */
const data = JSON.parse(
  (document.getElementById('report-data') as HTMLElement).textContent as string,
) as ReportData;
const colours = new Map(data.clouds.map((c) => [c.name, c.colour]));
const colour = (cloud: string) => colours.get(cloud) ?? '#999999';
const tooltip = new Tooltip();
const legend = el(
  'p',
  { class: 'cloud-legend' },
  ...data.clouds.map((c) => el('span', {}, el('i', { style: `background: ${c.colour}` }), c.name)),
);
const span =
  data.timeRange === null
    ? ''
    : ` · ${utcTime(data.timeRange.first).replace('T', ' ').slice(0, 19)} UTC, ${data.timeRange.seconds.toFixed(0)} s`;
const main = document.getElementById('report') as HTMLElement;
main.append(
  el('h1', {}, data.title),
  el(
    'p',
    { class: 'muted' },
    `${data.totals.nodes} nodes, ${data.totals.edges} edges, ${data.communities.count} communities (modularity ${data.communities.modularity.toFixed(2)})${span}`,
  ),
  legend,
);
const plan = planView(data, colour);
const graph = graphView(data, colour, tooltip);
const traffic = heatmap(data, colour, tooltip);
const patterns = patternTable(data);
const filtered = [plan, graph, traffic, patterns].flatMap((v) => (v === null ? [] : [v.filter]));
main.append(filterBar(data, filtered));
if (plan !== null) main.append(plan.element);
main.append(graph.element, traffic.element, cloudMatrix(data));
const timeline = crossCloudTimeline(data);
if (timeline !== null) main.append(timeline);
if (patterns !== null) main.append(patterns.element);
document.body.dataset.ready = 'true';
