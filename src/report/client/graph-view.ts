import { select } from 'd3-selection';
import { zoom, zoomIdentity } from 'd3-zoom';
import { formatBytes } from '../../text-format.js';
import { utcTime } from '../../utc-time.js';
import type { ReportData } from '../report-data.js';
import { el, section, svg, type Tooltip } from './dom.js';
import { type Filtered, passes } from './filters.js';

const SIZE = 640;

/** Nodes named on the drawing at any zoom: the heaviest by traffic. */
const LABELLED = 12;
/** Zoomed in this far, every node is named. */
const ALL_LABELS_AT = 3;

/**
 * The communication graph: nodes coloured by cloud at their precomputed positions, edge width by
 * bytes (log scale), an arrow from sender to receiver; the heaviest nodes named (all of them when
 * zoomed in); pan and zoom, hover details, search by name that frames the match and its neighbours,
 * and a time slider when the capture had windows.
 */
export function graphView(
  data: ReportData,
  colour: (cloud: string) => string,
  tooltip: Tooltip,
): { element: HTMLElement; filter: Filtered } {
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
  root.append(arrowMarker(), viewport);
  const pairs = new Set(edges.map(([s, t]) => `${s}>${t}`));
  const lines = edges.map(([s, t, bytes]) => {
    const a = nodes[s] as (typeof nodes)[number];
    const b = nodes[t] as (typeof nodes)[number];
    const [ax, ay, bx, by] = [px(a.x), py(a.y), px(b.x), py(b.y)];
    const length = Math.hypot(bx - ax, by - ay) || 1;
    const [ux, uy] = [(bx - ax) / length, (by - ay) / length];
    // Both directions of a pair side by side, each ending at its receiver's rim, where the arrow shows.
    const shift = pairs.has(`${t}>${s}`) ? 1.5 : 0;
    const end = Math.min(radius(t) + 1, length / 2);
    const line = svg('line', {
      class: 'edge',
      x1: (ax - uy * shift).toFixed(1),
      y1: (ay + ux * shift).toFixed(1),
      x2: (bx - ux * end - uy * shift).toFixed(1),
      y2: (by - uy * end + ux * shift).toFixed(1),
      'stroke-width': width(bytes).toFixed(2),
      'marker-end': 'url(#arrow)',
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
  const heaviest = new Set(
    nodes
      .map((_, i) => i)
      .sort((a, b) => (traffic[b] as number) - (traffic[a] as number))
      .slice(0, LABELLED),
  );
  const labels = nodes.map((n, i) => {
    const label = svg('text', {
      class: heaviest.has(i) ? 'label top' : 'label',
      'data-id': n.id,
      x: (px(n.x) + radius(i) + 2).toFixed(1),
      y: (py(n.y) + 3).toFixed(1),
    });
    label.textContent = n.id;
    viewport.append(label);
    return label;
  });

  const zoomer = zoom<SVGSVGElement, unknown>()
    .scaleExtent([0.5, 40])
    .on('zoom', (event) => {
      viewport.setAttribute('transform', event.transform.toString());
      root.classList.toggle('zoomed', event.transform.k >= ALL_LABELS_AT);
      // Names stay the same size on screen, however far the drawing is zoomed.
      viewport.style.setProperty('--label-size', `${(9 / event.transform.k).toFixed(3)}px`);
    });
  select(root).call(zoomer);
  const neighbours = nodes.map(() => new Set<number>());
  for (const [s, t] of edges) {
    neighbours[s]?.add(t);
    neighbours[t]?.add(s);
  }

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
    const first = hits[0];
    if (first === undefined) return;
    // Frame the first match with its neighbours: the box around them, fitted to the drawing with a margin.
    const framed = [first, ...(neighbours[first] ?? [])].map((i) => nodes[i] as (typeof nodes)[number]);
    const [fx0, fx1] = [Math.min(...framed.map((n) => px(n.x))), Math.max(...framed.map((n) => px(n.x)))];
    const [fy0, fy1] = [Math.min(...framed.map((n) => py(n.y))), Math.max(...framed.map((n) => py(n.y)))];
    const k = Math.min(8, (SIZE - 80) / Math.max(fx1 - fx0, fy1 - fy0, 40));
    select(root).call(
      zoomer.transform,
      zoomIdentity
        .translate(SIZE / 2, SIZE / 2)
        .scale(k)
        .translate(-(fx0 + fx1) / 2, -(fy0 + fy1) / 2),
    );
  });

  const controls = el('div', { class: 'controls' }, search, found);
  if (data.windows !== null) controls.append(timeSlider(data.windows, edges, lines, width));
  if (data.graph.planned !== null)
    controls.append(placementToggle(data, data.graph.planned, colour, circles, lines));
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
  const seconds = data.timeRange?.seconds ?? 1;
  const filter: Filtered = (f) => {
    const shown = nodes.map((n) => passes(f, n.cloud, n.community, patternOf));
    nodes.forEach((_, i) => {
      circles[i]?.classList.toggle('filtered', !shown[i]);
      labels[i]?.classList.toggle('filtered', !shown[i]);
    });
    edges.forEach(([s, t, bytes], i) => {
      lines[i]?.classList.toggle('filtered', !shown[s] || !shown[t] || bytes / seconds < f.minRate);
    });
  };
  const element = section(
    'graph-view',
    'Communication graph',
    controls,
    note,
    graphLegend(maxTraffic, maxEdge, radius(traffic.indexOf(maxTraffic)), width(maxEdge)),
    el('div', { class: 'frame' }, root),
  );
  return { element, filter };
}

/**
 * Now or planned: with the plan's placement, nodes take their new cloud's colour, moved VMs (or groups of
 * them) are ringed, and edges that cross clouds only after the plan are marked (those it brings into one
 * cloud fade).
 */
function placementToggle(
  data: ReportData,
  planned: string[],
  colour: (cloud: string) => string,
  circles: SVGCircleElement[],
  lines: SVGLineElement[],
): HTMLElement {
  const { nodes, edges, grouped } = data.graph;
  const toggle = el('input', { type: 'checkbox', id: 'planned', 'aria-label': 'show the planned placement' });
  const summary = el('span', { class: 'muted', id: 'planned-summary' });
  toggle.addEventListener('input', () => {
    const on = toggle.checked;
    let moved = 0;
    let movedGroups = 0;
    nodes.forEach((n, i) => {
      const cloud = on ? (planned[i] as string) : n.cloud;
      circles[i]?.setAttribute('fill', colour(cloud));
      const isMoved = on && cloud !== n.cloud;
      circles[i]?.classList.toggle('moved', isMoved);
      if (isMoved) {
        moved += n.members;
        movedGroups++;
      }
    });
    let newCross = 0;
    let joined = 0;
    edges.forEach(([s, t], i) => {
      const before = nodes[s]?.cloud !== nodes[t]?.cloud;
      const after = planned[s] !== planned[t];
      lines[i]?.classList.toggle('new-cross', on && after && !before);
      lines[i]?.classList.toggle('joined', on && before && !after);
      if (after && !before) newCross++;
      if (before && !after) joined++;
    });
    const where = grouped ? ` in ${movedGroups} groups` : '';
    const links = grouped ? 'links between groups' : 'edges';
    summary.textContent = on
      ? `planned: ${moved} VMs moved${where} (ringed), ${newCross} ${links} newly cross-cloud (red), ${joined} brought into one cloud (faded)`
      : '';
  });
  return el('label', { class: 'toggle' }, toggle, ' planned placement ', summary);
}

function arrowMarker(): SVGDefsElement {
  const defs = svg('defs');
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 10,
    refY: 5,
    markerWidth: 5,
    markerHeight: 5,
    markerUnits: 'userSpaceOnUse',
    orient: 'auto',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }));
  defs.append(marker);
  return defs;
}

/** What size, width and arrow stand for, with the largest values drawn. */
function graphLegend(maxTraffic: number, maxEdge: number, maxRadius: number, maxWidth: number): HTMLElement {
  const key = svg('svg', { id: 'graph-legend', viewBox: '0 0 640 30', width: 640, height: 30 });
  const text = (x: number, content: string) => {
    const t = svg('text', { x, y: 19, 'font-size': 11 });
    t.textContent = content;
    key.append(t);
  };
  key.append(svg('circle', { class: 'legend-node', cx: 8, cy: 15, r: 3 }));
  key.append(svg('circle', { class: 'legend-node', cx: 26, cy: 15, r: maxRadius.toFixed(1) }));
  text(42, `node: traffic, up to ${formatBytes(maxTraffic)}`);
  key.append(
    svg('line', {
      class: 'edge',
      x1: 230,
      y1: 15,
      x2: 262,
      y2: 15,
      'stroke-width': 0.3,
      'marker-end': 'url(#arrow)',
    }),
  );
  key.append(
    svg('line', {
      class: 'edge',
      x1: 270,
      y1: 15,
      x2: 302,
      y2: 15,
      'stroke-width': maxWidth.toFixed(2),
      'marker-end': 'url(#arrow)',
    }),
  );
  text(310, `edge: sender → receiver, width by bytes (log scale), up to ${formatBytes(maxEdge)}`);
  return el('div', { class: 'legend' }, key);
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
