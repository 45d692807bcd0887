import { select } from 'd3-selection';
import { zoom, zoomIdentity } from 'd3-zoom';
import { formatBytes } from '../../text-format.js';
import { utcTime } from '../../utc-time.js';
import type { ReportData } from '../report-data.js';
import { el, section, svg, type Tooltip } from './dom.js';

const SIZE = 640;

/**
 * The communication graph: nodes coloured by cloud at their precomputed positions, edge width by
 * bytes (log scale); pan and zoom, hover details, search by name, and a time slider when the capture
 * had windows.
 */
export function graphView(
  data: ReportData,
  colour: (cloud: string) => string,
  tooltip: Tooltip,
): HTMLElement {
  const { nodes, edges } = data.graph;
  const patternOf = new Map(data.patterns.map((p) => [p.community, p.pattern]));
  const xs = nodes.map((n) => n.x);
  const ys = nodes.map((n) => n.y);
  const [x0, x1, y0, y1] = [Math.min(...xs, 0), Math.max(...xs, 1), Math.min(...ys, 0), Math.max(...ys, 1)];
  const scale = (SIZE - 40) / Math.max(x1 - x0, y1 - y0, 1e-9);
  const px = (x: number) => 20 + (x - x0) * scale;
  const py = (y: number) => 20 + (y - y0) * scale;
  const maxEdge = edges.reduce((top, e) => Math.max(top, e[2]), 1);
  const width = (bytes: number) => (bytes <= 0 ? 0 : 0.3 + (4 * Math.log1p(bytes)) / Math.log1p(maxEdge));
  const traffic = nodes.map((n) => n.sent + n.received);
  const maxTraffic = traffic.reduce((top, t) => Math.max(top, t), 1);
  const radius = (i: number) => 3 + 9 * Math.sqrt((traffic[i] as number) / maxTraffic);

  const root = svg('svg', {
    viewBox: `0 0 ${SIZE} ${SIZE}`,
    id: 'graph',
    role: 'img',
    'aria-label': 'communication graph',
  });
  const viewport = svg('g');
  root.append(viewport);
  const lines = edges.map(([s, t, bytes]) => {
    const a = nodes[s] as (typeof nodes)[number];
    const b = nodes[t] as (typeof nodes)[number];
    const line = svg('line', {
      class: 'edge',
      x1: px(a.x).toFixed(1),
      y1: py(a.y).toFixed(1),
      x2: px(b.x).toFixed(1),
      y2: py(b.y).toFixed(1),
      'stroke-width': width(bytes).toFixed(2),
    });
    viewport.append(line);
    return line;
  });
  const circles = nodes.map((n, i) => {
    const c = svg('circle', {
      class: 'node',
      'data-id': n.id,
      cx: px(n.x).toFixed(1),
      cy: py(n.y).toFixed(1),
      r: radius(i).toFixed(1),
      fill: colour(n.cloud),
    });
    c.addEventListener('mousemove', (event) =>
      tooltip.show(event, [
        n.id,
        `${n.cloud}${n.members > 1 ? ` · ${n.members} VMs` : ''}${n.community >= 0 ? ` · community ${n.community + 1}${patternOf.has(n.community) ? ` (${patternOf.get(n.community)})` : ''}` : ''}`,
        `sent ${formatBytes(n.sent)} · received ${formatBytes(n.received)}`,
        ...n.peers.map(([peer, bytes]) => `↔ ${peer}: ${formatBytes(bytes)}`),
      ]),
    );
    c.addEventListener('mouseleave', () => tooltip.hide());
    viewport.append(c);
    return c;
  });

  const zoomer = zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.5, 40])
    .on('zoom', (event) => viewport.setAttribute('transform', event.transform.toString()));
  select(root).call(zoomer);

  const search = el('input', {
    type: 'search',
    id: 'search',
    placeholder: 'find a VM…',
    'aria-label': 'find a VM',
  });
  const found = el('span', { class: 'muted', id: 'search-result' });
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    const hits = q === '' ? [] : nodes.flatMap((n, i) => (n.id.toLowerCase().includes(q) ? [i] : []));
    const hit = new Set(hits);
    circles.forEach((c, i) => {
      c.classList.toggle('match', hit.has(i));
      c.classList.toggle('dim', q !== '' && !hit.has(i));
    });
    found.textContent = q === '' ? '' : `${hits.length} match${hits.length === 1 ? '' : 'es'}`;
    const first = nodes[hits[0] ?? -1];
    if (first !== undefined)
      select(root).call(
        zoomer.transform,
        zoomIdentity
          .translate(SIZE / 2, SIZE / 2)
          .scale(3)
          .translate(-px(first.x), -py(first.y)),
      );
  });

  const controls = el('div', { class: 'controls' }, search, found);
  if (data.windows !== null) controls.append(timeSlider(data.windows, edges, lines, width));
  const note = data.graph.grouped
    ? el(
        'p',
        { class: 'muted' },
        `${data.totals.nodes} nodes are too many to draw one by one: each circle is one community within one cloud (${nodes.length} groups).`,
      )
    : el(
        'p',
        { class: 'muted' },
        `${nodes.length} nodes, ${edges.length} edges; scroll to zoom, drag to pan.`,
      );
  return section('graph-view', 'Communication graph', controls, note, el('div', { class: 'frame' }, root));
}

function timeSlider(
  windows: NonNullable<ReportData['windows']>,
  edges: [number, number, number][],
  lines: SVGLineElement[],
  width: (bytes: number) => number,
): HTMLElement {
  const slider = el('input', {
    type: 'range',
    id: 'window',
    min: '0',
    max: String(windows.count),
    value: '0',
    'aria-label': 'time window',
  });
  const label = el('span', { id: 'window-label' }, 'whole capture');
  const perWindow = windows.edges.map((series) => new Map(series));
  slider.addEventListener('input', () => {
    const w = Number(slider.value) - 1;
    label.textContent =
      w < 0
        ? 'whole capture'
        : `window ${w + 1}/${windows.count}: ${utcTime(windows.first + w * windows.seconds).slice(11, 19)} UTC, ${windows.seconds} s`;
    lines.forEach((line, i) => {
      const bytes = w < 0 ? (edges[i] as [number, number, number])[2] : (perWindow[i]?.get(w) ?? 0);
      line.setAttribute('stroke-width', width(bytes).toFixed(2));
    });
  });
  return el('label', { class: 'slider' }, 'time ', slider, label);
}
