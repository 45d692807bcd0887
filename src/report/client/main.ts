import { utcTime } from '../../utc-time.js';
import type { ReportData } from '../report-data.js';
import { el, Tooltip } from './dom.js';
import { graphView } from './graph-view.js';
import { heatmap } from './heatmap.js';
import { cloudMatrix, patternTable, planView } from './tables.js';

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
if (plan !== null) main.append(plan);
main.append(graphView(data, colour, tooltip), heatmap(data, colour, tooltip), cloudMatrix(data));
const patterns = patternTable(data);
if (patterns !== null) main.append(patterns);
document.body.dataset.ready = 'true';
