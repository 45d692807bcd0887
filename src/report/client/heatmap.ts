import { scaleSequentialLog } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { formatBytes } from '../../text-format.js';
import type { ReportData } from '../report-data.js';
import { el, section, svg, type Tooltip } from './dom.js';

const SIZE = 640;

/**
 * The sender × receiver byte matrix, rows and columns ordered by cloud then community, on a log
 * viridis scale (legible in grey and to colour-blind readers). Only non-zero cells are drawn.
 */
export function heatmap(data: ReportData, colour: (cloud: string) => string, tooltip: Tooltip): HTMLElement {
  const { labels, clouds, cells } = data.heatmap;
  const n = Math.max(1, labels.length);
  const margin = 8;
  const cell = (SIZE - margin) / n;
  const values = cells.map((c) => c[2]).filter((b) => b > 0);
  const lo = Math.max(1, Math.min(...values, 1));
  const hi = Math.max(lo * 10, ...values);
  const fill = scaleSequentialLog(interpolateViridis).domain([lo, hi]);
  const root = svg('svg', {
    viewBox: `0 0 ${SIZE} ${SIZE}`,
    id: 'heatmap',
    role: 'img',
    'aria-label': 'traffic heatmap',
  });
  // A strip on the left and top says which cloud each row and column is in.
  labels.forEach((_, i) => {
    const fillColour = colour(clouds[i] as string);
    root.append(
      svg('rect', {
        class: 'cloud-strip',
        x: 0,
        y: margin + i * cell,
        width: margin - 2,
        height: cell,
        fill: fillColour,
      }),
      svg('rect', {
        class: 'cloud-strip',
        x: margin + i * cell,
        y: 0,
        width: cell,
        height: margin - 2,
        fill: fillColour,
      }),
    );
  });
  const side = Math.max(cell, 0.6).toFixed(2);
  for (const [row, col, bytes] of cells) {
    const r = svg('rect', {
      class: 'cell',
      x: (margin + col * cell).toFixed(2),
      y: (margin + row * cell).toFixed(2),
      width: side,
      height: side,
      fill: fill(Math.max(lo, bytes)),
    });
    r.addEventListener('mousemove', (event) =>
      tooltip.show(event, [`${labels[row]} → ${labels[col]}`, formatBytes(bytes)]),
    );
    r.addEventListener('mouseleave', () => tooltip.hide());
    root.append(r);
  }
  // Cloud boundaries.
  for (let i = 1; i < labels.length; i++) {
    if (clouds[i] === clouds[i - 1]) continue;
    const at = margin + i * cell;
    root.append(
      svg('line', { class: 'boundary', x1: margin, y1: at, x2: SIZE, y2: at }),
      svg('line', { class: 'boundary', x1: at, y1: margin, x2: at, y2: SIZE }),
    );
  }
  const stops = Array.from({ length: 11 }, (_, i) => fill(lo * (hi / lo) ** (i / 10)));
  const legend = el(
    'div',
    { class: 'legend' },
    el('span', {}, formatBytes(lo)),
    el('span', { class: 'ramp', style: `background: linear-gradient(to right, ${stops.join(', ')})` }),
    el('span', {}, formatBytes(hi)),
    el('span', { class: 'muted' }, ' (log scale; empty: no traffic)'),
  );
  const note = data.heatmap.grouped
    ? `One row per community within a cloud (${labels.length} rows for ${data.totals.nodes} nodes). Rows send, columns receive.`
    : `${labels.length} × ${labels.length}, ${cells.length} non-zero cells. Rows send, columns receive; ordered by cloud, then community.`;
  return section(
    'heatmap-view',
    'Traffic heatmap',
    el('p', { class: 'muted' }, note),
    legend,
    el('div', { class: 'frame' }, root),
  );
}
